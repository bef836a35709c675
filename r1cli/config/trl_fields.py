"""The catalogue of TRL's own config fields, without importing TRL.

r1 recipes pass every field of TRL's ``GRPOConfig``, ``SFTConfig`` and
``ModelConfig`` (and TRL's ``ScriptArguments``) through unchanged. To validate
those keys in well under a second, r1 must not import trl/transformers/torch
(about 5 s). Instead it reads the dataclass definitions straight from the
installed source files with :mod:`ast`, and caches the result as JSON per
installed (trl, transformers) version pair. If the source layout ever changes
so that parsing finds nothing, it falls back to importing TRL once and reading
``dataclasses.fields`` -- slow, but cached all the same.

The catalogue maps ``name -> TrlField(type, default, help, choices, owners)``
where ``owners`` says which configs have the field (``grpo``, ``sft``,
``model``, ``script``).
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from r1cli.paths import cache_dir

# (owner, file inside the package, class name). Classes inherit through the
# bases found in these same files (GRPOConfig -> _BaseConfig -> TrainingArguments).
_SOURCES = {
    "trl": ["trainer/grpo_config.py", "trainer/sft_config.py", "trainer/base_config.py",
            "trainer/model_config.py", "scripts/utils.py"],
    "transformers": ["training_args.py"],
}
_OWNERS = {"grpo": "GRPOConfig", "sft": "SFTConfig", "model": "ModelConfig", "script": "ScriptArguments"}
_CACHE_FORMAT = 1


@dataclass(frozen=True)
class TrlField:
    name: str
    type: str  # the annotation as written in TRL's source, e.g. "float | None"
    default: object  # a JSON-able literal, or the string "<dynamic>" when not a literal
    help: str
    choices: tuple | None
    owners: tuple[str, ...]


def _package_dir(name: str) -> Path | None:
    # find_spec on a top-level package locates it without importing it.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _literal(node: ast.AST | None) -> object:
    if node is None:
        return None
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return "<dynamic>"
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else "<dynamic>"


def _field_call(value: ast.AST) -> tuple[object, str, tuple | None]:
    """(default, help, choices) of ``field(default=..., metadata={...})`` or a plain default."""
    if not (isinstance(value, ast.Call) and getattr(value.func, "id", None) == "field"):
        return _literal(value), "", None
    default: object = "<dynamic>"
    help_text, choices = "", None
    for kw in value.keywords:
        if kw.arg == "default":
            default = _literal(kw.value)
        elif kw.arg == "default_factory":
            factory = getattr(kw.value, "id", None)
            default = {"list": [], "dict": {}}.get(factory, "<dynamic>")
        elif kw.arg == "metadata" and isinstance(kw.value, ast.Dict):
            for k, v in zip(kw.value.keys, kw.value.values):
                key = _literal(k)
                if key == "help":
                    text = _literal(v)
                    help_text = text if isinstance(text, str) else ""
                elif key == "choices":
                    found = _literal(v)
                    choices = tuple(found) if isinstance(found, list) else None
    return default, help_text, choices


def _parse_sources() -> dict[str, TrlField]:
    classes: dict[str, tuple[list[str], dict[str, tuple]]] = {}
    for package, files in _SOURCES.items():
        root = _package_dir(package)
        if root is None:
            continue
        for rel in files:
            path = root / rel
            if not path.is_file():
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                if not isinstance(node, ast.ClassDef):
                    continue
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                fields = {}
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        name = item.target.id
                        if name.startswith("_"):
                            continue
                        fields[name] = (ast.unparse(item.annotation), *_field_call(item.value))
                classes.setdefault(node.name, (bases, fields))

    def collect(cls: str, seen: set[str]) -> dict[str, tuple]:
        if cls not in classes or cls in seen:
            return {}
        seen.add(cls)
        bases, own = classes[cls]
        merged: dict[str, tuple] = {}
        for base in reversed(bases):
            merged.update(collect(base, seen))
        merged.update(own)  # a subclass redefines a field's default and help
        return merged

    catalogue: dict[str, dict] = {}
    for owner, cls in _OWNERS.items():
        for name, (type_, default, help_text, choices) in collect(cls, set()).items():
            entry = catalogue.setdefault(name, {"type": type_, "default": default, "help": help_text,
                                                 "choices": choices, "owners": []})
            entry["owners"].append(owner)
            if owner in ("grpo",):  # GRPO's wording and default win where configs differ
                entry.update(type=type_, default=default, help=help_text or entry["help"], choices=choices)
    return {name: TrlField(name=name, owners=tuple(e.pop("owners")), **e) for name, e in catalogue.items()}


def _import_fields() -> dict[str, TrlField]:
    """Fallback when the source layout is unrecognised: import TRL (slow) and read the dataclasses."""
    import dataclasses

    import trl

    catalogue: dict[str, TrlField] = {}
    for owner, cls_name in _OWNERS.items():
        cls = getattr(trl, cls_name, None)
        if cls is None:
            continue
        for f in dataclasses.fields(cls):
            if f.name.startswith("_"):
                continue
            default = f.default if f.default is not dataclasses.MISSING else "<dynamic>"
            if not isinstance(default, (str, int, float, bool, type(None))):
                default = "<dynamic>"
            old = catalogue.get(f.name)
            owners = (old.owners if old else ()) + (owner,)
            catalogue[f.name] = TrlField(f.name, str(f.type), default, f.metadata.get("help", ""),
                                         tuple(f.metadata["choices"]) if "choices" in f.metadata else None, owners)
    return catalogue


@lru_cache(maxsize=1)
def trl_fields() -> dict[str, TrlField]:
    """All TRL config fields by name, from the JSON cache when it matches the installed versions."""
    key = f"trl-{_version('trl')}_transformers-{_version('transformers')}_v{_CACHE_FORMAT}"
    path = cache_dir() / f"trl-fields-{key}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a catalogue")
        return {name: TrlField(name=name, **{**e, "owners": tuple(e["owners"]),
                                             "choices": tuple(e["choices"]) if e["choices"] else None})
                for name, e in raw.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # no cache for these versions yet, or an unreadable one: rebuild it below
    catalogue = _parse_sources()
    if "num_generations" not in catalogue or "learning_rate" not in catalogue:
        catalogue = _import_fields()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({n: {k: v for k, v in asdict(f).items() if k != "name"}
                                   for n, f in catalogue.items()}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache directory only costs speed
    return catalogue
