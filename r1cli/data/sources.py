"""Loading a dataset from wherever a recipe says it is.

``dataset_name`` may be a built-in synthetic task (``arithmetic``), a local
``.jsonl``/``.json``/``.parquet``/``.csv`` file, a directory (files of those
kinds, or a dataset saved with ``save_to_disk``), or a hub id. A
``dataset_mixture`` (open-r1's format) concatenates several sources, each
optionally subsampled by ``weight``. Everything returns a ``datasets.Dataset``.

Local files have the splits their names carry (``train.jsonl``, ``gsm8k_test.jsonl``;
otherwise one, ``train``): a split they lack is an error naming the ones they
have, never other rows. A malformed line is reported as ``FILE:LINE``, and a
datasets cache that cannot be written (read-only ``HOME``) is named with the
way to move it (``HF_DATASETS_CACHE``).
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Any

from r1cli.data.synthetic import BUILTIN_DATASETS, generate
from r1cli.errors import DataError, first_line

FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
# Split names a data file's name can carry (train.jsonl, gsm8k_test.jsonl, data-validation.parquet).
SPLIT_NAMES = ("train", "test", "validation", "valid", "dev", "eval")
FILE_SPLIT = "train"  # what datasets calls the one split of plain files
CACHE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR, errno.EEXIST})


def _names(path: Path) -> tuple[str, ...]:
    """The names a data file's stem may give its split: ``gsm8k_test`` -> test, ``train-00000-of-00001`` -> train."""
    stem = path.stem.lower()
    return stem, stem.split("-")[0].split("_")[-1], stem.split("-")[-1].split("_")[-1]


def _split_of(path: Path) -> str | None:
    """The split a data file's name carries (``train.jsonl``, ``gsm8k_test.jsonl``), else None."""
    return next((name for name in _names(path) if name in SPLIT_NAMES), None)


def _check_split(where: Path, splits: list[str], split: str, split_given: bool) -> None:
    """Plain files answer their own splits only; another split chosen by name is an error, never other rows."""
    if split in splits or not split_given:
        return
    have = ", ".join(repr(s) for s in splits)
    kind = "a single file" if where.is_file() else "a directory of files"
    raise DataError(f"{where} has no split {split!r}: it is {kind} whose split{'s are' if len(splits) > 1 else ' is'} {have}",
                    hint="put the held-out rows in a file of their own and name it as the eval data "
                         "(eval_dataset_name, or r1 eval --dataset FILE without --split), or choose one of those splits")


def _from_directory(path: Path, split: str, split_given: bool):
    import datasets

    if (path / "dataset_info.json").exists() or (path / "state.json").exists() or (path / "dataset_dict.json").exists():
        loaded = _cache_guard(lambda: datasets.load_from_disk(str(path)))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise DataError(f"{path} has no split {split!r}", hint=f"splits: {', '.join(loaded)}")
            return loaded[split]
        return loaded
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in FILE_BUILDERS)
    if not files:
        raise DataError(f"{path} holds no .jsonl, .json, .parquet or .csv files", hint="point dataset_name at a data file")
    # Files named after the split (train.jsonl, test.parquet) select it; without such names, all files are one split.
    chosen = [p for p in files if split.lower() in _names(p)]
    if not chosen:
        splits = sorted({s for s in map(_split_of, files) if s is not None})
        # named splits without this one: an error whoever chose it; no names: all files are the one split
        _check_split(path, splits or [FILE_SPLIT], split, split_given=split_given or bool(splits))
        chosen = files
    builders = {FILE_BUILDERS[p.suffix.lower()] for p in chosen}
    if len(builders) > 1:
        raise DataError(f"{path} mixes file types ({', '.join(sorted(builders))})", hint="keep one format per directory")
    builder = builders.pop()
    return _load_files(builder, chosen)


def _load_files(builder: str, files: list[Path]):
    """The rows of local data files; a bad line is ``FILE:LINE``, a cache that cannot be written is named."""
    import datasets

    quiet = logging.getLogger("datasets")  # its "Failed to load JSON..." log line would precede r1's one-line error
    level, quiet.level = quiet.level, logging.CRITICAL
    try:
        return _cache_guard(lambda: datasets.load_dataset(builder, data_files=[str(p) for p in files], split="train"))
    except DataError:
        raise
    except Exception as exc:  # pyarrow/json errors: say which file and line, not a 40-line traceback
        if builder == "json":
            for path in files:
                _raise_bad_line(path)
        where = files[0] if len(files) == 1 else files[0].parent
        raise DataError(f"{where}: could not be read as {builder}: {first_line(exc)}",
                        hint="check the file's format (one JSON object per line for .jsonl)") from exc
    finally:
        quiet.setLevel(level)


def _raise_bad_line(path: Path) -> None:
    """Raise ``FILE:LINE: ...`` for the first line of a JSON-lines file that is not a JSON object; nothing if all are."""
    import json

    with open(path, "rb") as handle:
        head = handle.read(2)
        if head == b"\x1f\x8b":
            raise DataError(f"{path} is gzip-compressed", hint=f"decompress it first: gunzip -c {path} > {path.stem}.plain{path.suffix}")
        handle.seek(0)
        first = True
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            if first and path.suffix.lower() == ".json" and raw.lstrip()[:1] == b"[":
                return  # a JSON array file: not lines
            first = False
            try:
                row = json.loads(raw)
            except UnicodeDecodeError:
                raise DataError(f"{path}:{number}: not valid UTF-8", hint="save the file as UTF-8") from None
            except (ValueError, RecursionError) as exc:
                raise DataError(f"{path}:{number}: invalid JSON ({first_line(exc)})",
                                hint="each line must be one JSON object; fix or remove that line") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}",
                                hint="each line must be one JSON object, e.g. {\"problem\": ..., \"answer\": ...}")


def _cache_guard(load):
    """``load()``, with a datasets cache that cannot be written (read-only HOME, full disk) named with the way to move it."""
    try:
        return load()
    except OSError as exc:
        cache = _cache_dir()
        failed = getattr(exc, "filename", None) or ""
        if exc.errno in CACHE_ERRNOS and (not failed or str(failed).startswith(cache) or cache.startswith(str(failed))):
            raise DataError(f"cannot write the datasets cache {cache}: {(exc.strerror or str(exc)).lower()}",
                            hint="move the cache somewhere writable: HF_DATASETS_CACHE=/path/to/cache "
                                 "(or HF_HOME=/path/to/hf) before the command") from exc
        raise


def _cache_dir() -> str:
    import datasets

    return str(datasets.config.HF_DATASETS_CACHE)


def load_source(name: str, *, config: str | None = None, split: str = "train", size: int | None = None,
                seed: int = 0, split_given: bool = True):
    """One dataset split as a ``datasets.Dataset``; :class:`DataError` with a fix when it cannot be had.

    A local file has one split (``train``, or the one its name carries: ``gsm8k_test.jsonl``); a ``split``
    it does not have is an error naming the ones it has, unless ``split_given`` is False (a default
    nobody chose: then a file named as the eval data is its own rows). Never another split's rows.
    """
    import datasets

    datasets.disable_progress_bars()
    if name in BUILTIN_DATASETS:
        return datasets.Dataset.from_list(generate(config, split=split, size=size, seed=seed))
    path = Path(name).expanduser()
    if path.is_dir():
        return _from_directory(path, split, split_given)
    if path.is_file():
        if path.stat().st_size == 0:
            raise DataError(f"{path} is empty", hint="point dataset_name at a file with rows")
        builder = FILE_BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise DataError(f"{path}: unsupported file type {path.suffix!r}", hint="use .jsonl, .json, .parquet or .csv")
        if split.lower() not in _names(path):
            _check_split(path, sorted({FILE_SPLIT, _split_of(path) or FILE_SPLIT}), split, split_given)
        return _load_files(builder, [path])
    if name.startswith(("/", "./", "../", "~")) or path.suffix.lower() in FILE_BUILDERS:
        raise DataError(f"dataset file {name!r} does not exist", hint="fix the path (relative to the current directory)")
    try:
        return _cache_guard(lambda: datasets.load_dataset(name, config, split=split))
    except DataError:
        raise
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
