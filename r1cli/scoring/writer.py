"""``r1 score --output``: every scored row written back as JSONL, or CSV (nested values as JSON)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from r1cli.errors import UsageError

OUTPUT_SUFFIXES = (".jsonl", ".ndjson", ".csv")


def check_output(out_path: Path | None, path: Path, force: bool) -> None:
    """Refuse an unknown format, the input file itself, or an existing file without ``force`` (before any work)."""
    from r1cli.files import refuse_overwrite

    if out_path is None:
        return
    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UsageError(f"cannot write {out_path.name}: unknown format", hint="use a .jsonl or .csv file name")
    if out_path.resolve() == path.resolve():
        raise UsageError("the output file would replace the input file", hint="choose another --output")
    refuse_overwrite(out_path, force)


class Writer:
    """Writes scored rows as JSONL, or as CSV (header from the first row; nested values as JSON)."""

    def __init__(self, path: Path, names: list[str]):
        self.csv = path.suffix.lower() == ".csv"
        self.names = names
        self.fields: list[str] | None = None
        self.csv_writer = None

    def write(self, handle, row: dict) -> None:
        if not self.csv:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        flat = {k: v for k, v in row.items() if k not in ("rewards", "reward")}
        flat.update({f"rewards.{n}": row["rewards"][n] for n in self.names})
        flat["reward"] = row["reward"]
        if self.csv_writer is None:
            self.fields = list(flat)
            self.csv_writer = csv.DictWriter(handle, fieldnames=self.fields, extrasaction="ignore", restval="")
            self.csv_writer.writeheader()
        self.csv_writer.writerow({k: _cell(v) for k, v in flat.items()})


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value
