"""Loading a dataset from wherever a recipe says it is.

``dataset_name`` may be a built-in synthetic task (``arithmetic``), a local
``.jsonl``/``.json``/``.parquet``/``.csv`` file, a directory (files of those
kinds, or a dataset saved with ``save_to_disk``), or a hub id. A
``dataset_mixture`` (open-r1's format) concatenates several sources, each
optionally subsampled by ``weight``. Everything returns a ``datasets.Dataset``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1cli.data.synthetic import BUILTIN_DATASETS, generate
from r1cli.errors import DataError, first_line

FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def _from_directory(path: Path, split: str):
    import datasets

    if (path / "dataset_info.json").exists() or (path / "state.json").exists() or (path / "dataset_dict.json").exists():
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise DataError(f"{path} has no split {split!r}", hint=f"splits: {', '.join(loaded)}")
            return loaded[split]
        return loaded
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in FILE_BUILDERS)
    if not files:
        raise DataError(f"{path} holds no .jsonl, .json, .parquet or .csv files", hint="point dataset_name at a data file")
    # Files named after the split (train.jsonl, test.parquet) select it; otherwise use all files.
    named = [p for p in files if p.stem.split("-")[0].split("_")[-1] == split or p.stem == split]
    chosen = named or files
    builders = {FILE_BUILDERS[p.suffix.lower()] for p in chosen}
    if len(builders) > 1:
        raise DataError(f"{path} mixes file types ({', '.join(sorted(builders))})", hint="keep one format per directory")
    return datasets.load_dataset(builders.pop(), data_files=[str(p) for p in chosen], split="train")


def load_source(name: str, *, config: str | None = None, split: str = "train", size: int | None = None,
                seed: int = 0):
    """One dataset split as a ``datasets.Dataset``; :class:`DataError` with a fix when it cannot be had."""
    import datasets

    datasets.disable_progress_bars()
    if name in BUILTIN_DATASETS:
        return datasets.Dataset.from_list(generate(config, split=split, size=size, seed=seed))
    path = Path(name).expanduser()
    if path.is_dir():
        return _from_directory(path, split)
    if path.is_file():
        if path.stat().st_size == 0:
            raise DataError(f"{path} is empty", hint="point dataset_name at a file with rows")
        builder = FILE_BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise DataError(f"{path}: unsupported file type {path.suffix!r}", hint="use .jsonl, .json, .parquet or .csv")
        try:
            return datasets.load_dataset(builder, data_files=str(path), split="train")
        except Exception as exc:  # pyarrow/json errors: say which file, not a 40-line traceback
            raise DataError(f"{path}: could not be read as {builder}: {first_line(exc)}",
                            hint="check the file's format (one JSON object per line for .jsonl)") from exc
    if name.startswith(("/", "./", "../", "~")) or path.suffix.lower() in FILE_BUILDERS:
        raise DataError(f"dataset file {name!r} does not exist", hint="fix the path (relative to the current directory)")
    try:
        return datasets.load_dataset(name, config, split=split)
    except Exception as exc:
        first = first_line(exc)
        raise DataError(f"could not load dataset {name!r} (split {split!r}) from the Hugging Face hub: {first}",
                        hint="check the id and your network, or download it and point dataset_name at the local file") from exc


def load_mixture(mixture: dict[str, Any], *, split: str = "train", seed: int = 0):
    """open-r1's ``dataset_mixture``: ``{datasets: [{id, config, split, columns, weight}], seed}``."""
    import datasets

    parts = []
    for entry in mixture.get("datasets", []):
        ds = load_source(entry["id"], config=entry.get("config"), split=entry.get("split", split), seed=seed)
        if entry.get("columns"):
            ds = ds.select_columns(entry["columns"])
        weight = entry.get("weight")
        if weight is not None and 0 < weight < 1:
            ds = ds.shuffle(seed=mixture.get("seed", seed)).select(range(int(len(ds) * weight)))
        parts.append(ds)
    if not parts:
        raise DataError("dataset_mixture lists no datasets", hint="add entries under dataset_mixture.datasets")
    return datasets.concatenate_datasets(parts).shuffle(seed=mixture.get("seed", seed))
