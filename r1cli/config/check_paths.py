"""The "paths" layer of validation: a model and data are given, and local paths exist on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1cli.config.check_values import value_of
from r1cli.config.loader import RawRecipe

# Files that mark a directory written by datasets' save_to_disk (as r1cli.data.sources reads it).
_SAVED_DATASET = ("dataset_info.json", "state.json", "dataset_dict.json")
LOCAL_SUFFIXES = {".jsonl", ".json", ".parquet", ".csv", ".gguf", ".yaml", ".yml", ".txt", ".arrow"}


def looks_local(text: str) -> bool:
    """A path the user means to be on this machine (a hub id never looks like this)."""
    return text.startswith(("/", "./", "../", "~")) or Path(text).suffix.lower() in LOCAL_SUFFIXES


def _check_path(raw: RawRecipe, name: str, what: str, value: Any = None) -> None:
    value = raw.values.get(name) if value is None else value
    if isinstance(value, str) and looks_local(value) and not Path(value).expanduser().exists():
        raw.error(name, f"{what} {value!r} does not exist", "fix the path (relative paths start from the current directory)")


def _check_data_path(raw: RawRecipe, name: str, what: str, value: Any = None) -> None:
    """A local dataset: a data file, or a directory holding data files (or a saved dataset)."""
    from r1cli.data.sources import FILE_BUILDERS

    value = raw.values.get(name) if value is None else value
    _check_path(raw, name, what, value)
    path = Path(value).expanduser() if isinstance(value, str) else None
    if path is None or not path.is_dir() or any((path / marker).exists() for marker in _SAVED_DATASET):
        return
    if not any(p.suffix.lower() in FILE_BUILDERS for p in path.iterdir()):
        raw.error(name, f"{what} {value!r} is a directory with no {', '.join(FILE_BUILDERS)} files",
                  "point it at a data file, or at a directory of them")


def _check_chat_template(raw: RawRecipe) -> None:
    from r1cli.models.loading import chat_template_is_a_file

    template = raw.values.get("chat_template")
    if not isinstance(template, str) or not chat_template_is_a_file(template):
        return
    if not Path(template).expanduser().is_file():
        raw.error("chat_template", f"chat template file {template!r} does not exist or is not a file "
                  "(a template without {{ }} or {% %} is read as a file name)",
                  "give the path of a Jinja file, or the template itself")


def _check_local_files(raw: RawRecipe) -> None:
    """Paths that must be files or directories of the right kind."""
    _check_path(raw, "model_name_or_path", "model path")
    _check_data_path(raw, "dataset_name", "dataset file")
    _check_data_path(raw, "eval_dataset_name", "eval dataset file")
    mixture = raw.values.get("dataset_mixture")
    entries = mixture.get("datasets") if isinstance(mixture, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            _check_data_path(raw, "dataset_mixture", "dataset_mixture file", entry["id"])
    _check_chat_template(raw)
    output_dir = raw.values.get("output_dir")
    if isinstance(output_dir, str) and Path(output_dir).expanduser().exists() and not Path(output_dir).expanduser().is_dir():
        raw.error("output_dir", f"{output_dir!r} is a file; the run directory must be a directory",
                  "choose another output_dir")


def _check_builtin_model(raw: RawRecipe) -> None:
    from r1cli.models.catalog import BUILTIN_MODELS, is_available

    name = raw.values.get("model_name_or_path")
    if isinstance(name, str) and name in BUILTIN_MODELS and not is_available(name):
        raw.error("model_name_or_path", f"the built-in model {name!r} is not installed", BUILTIN_MODELS[name].install)


def check_paths(raw: RawRecipe) -> None:
    """The "paths" layer: a model and data are given, and local paths exist on this machine."""
    if not value_of(raw, "model_name_or_path") and "model_name_or_path" not in raw.rejected:
        raw.error("model_name_or_path", "no model given", "add `model_name_or_path: <hub id or local path>`", line=1)
    if not value_of(raw, "dataset_name") and not value_of(raw, "dataset_mixture") \
            and not {"dataset_name", "dataset_mixture"} & set(raw.rejected):
        raw.error("dataset_name", "no training data given", "add `dataset_name: <hub id or local file>`", line=1)
    _check_local_files(raw)
    _check_builtin_model(raw)
