"""The columns of a local data file, read cheaply: the first rows only, no torch, no `datasets`.

    peek_columns("data/gsm8k.jsonl")        # ["question", "answer"], or None when it cannot tell

For `r1 init`'s wizard, which offers a file's own columns as the prompt and gold
answer choices. JSON Lines and CSV are read line by line (the first rows), Parquet
by its schema (pyarrow, when installed), a ``.json`` file only when it is small
enough to parse at once. Anything else, or a file that does not parse, gives None.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

LOCAL_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
MAX_JSON_BYTES = 20 * 1024 * 1024  # a .json array larger than this is not parsed just to list its keys
ROWS = 20


def looks_local(name: str) -> bool:
    """Is this dataset name a local file or directory (rather than a hub id or a built-in task)?"""
    return name.endswith(LOCAL_SUFFIXES) or name.startswith((".", "/", "~")) or Path(name).exists()


def _keys(rows) -> list[str] | None:
    seen: dict[str, None] = {}
    for row in rows:
        if isinstance(row, dict):
            seen.update(dict.fromkeys(map(str, row)))
    return list(seen) or None


def peek_columns(path: str | Path, rows: int = ROWS) -> list[str] | None:
    path = Path(path).expanduser()
    try:
        if path.suffix == ".jsonl":
            found = []
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        found.append(json.loads(line))
                    if len(found) >= rows:
                        break
            return _keys(found)
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle), None)
            return [h for h in header if h] or None if header else None
        if path.suffix == ".json":
            if path.stat().st_size > MAX_JSON_BYTES:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # {"data": [...]} or {"train": [...]}
                data = next((v for v in data.values() if isinstance(v, list)), [data])
            return _keys(data[:rows]) if isinstance(data, list) else None
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names) or None
    except (OSError, UnicodeDecodeError, ValueError, ImportError, csv.Error):
        return None
    return None
