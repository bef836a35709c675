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
    "transformers": ["training_args.py", "trainer_utils.py"],
}
# Modules where a choices expression's names may live (``trainer_log_levels.keys()`` -> utils/logging.py).
_HELPER_SOURCES = {"transformers": ["utils/logging.py", "integrations/integration_utils.py"]}
# Fields whose values transformers checks against a module-level table rather than declared choices:
# name -> (the table whose keys are the choices, values accepted besides them).
_CHOICE_TABLES = {"report_to": ("INTEGRATION_TO_CALLBACK", ("none", "all"))}
_OWNERS = {"grpo": "GRPOConfig", "sft": "SFTConfig", "model": "ModelConfig", "script": "ScriptArguments"}
_CACHE_FORMAT = 3


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
                    choices = tuple(found) if isinstance(found, list) else ("<expr>", ast.unparse(v))
    return default, help_text, choices


def _module_names(trees: list[ast.Module]) -> dict[str, list[ast.AST]]:
    """Module-level ``name = value`` assignments and ``def name(): return x`` bodies, across ``trees``
    (a name may be assigned in several modules: each is a candidate)."""
    names: dict[str, list[ast.AST]] = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                names.setdefault(node.targets[0].id, []).append(node.value)
            elif isinstance(node, ast.FunctionDef) and len(node.body) == 1 and isinstance(node.body[0], ast.Return):
                names.setdefault(f"{node.name}()", []).append(node.body[0].value)
    return names


def _first_resolved(candidates: list[ast.AST], names: dict, depth: int) -> list | None:
    for candidate in candidates:
        found = _resolve_keys(candidate, names, depth + 1)
        if found is not None:
            return found
    return None


def _resolve_keys(node: ast.AST, names: dict[str, list[ast.AST]], depth: int = 0) -> list | None:
    """The keys of a dict that a choices expression such as ``trainer_log_levels.keys()`` stands for, if readable.

    Follows names, ``dict(**other, extra=...)``, ``.copy()`` / ``.keys()`` and ``module.function()`` calls whose
    body is ``return name`` -- enough for the forms transformers uses, without importing it.
    """
    if depth > 8:
        return None
    if isinstance(node, ast.Dict):
        keys = [_literal(k) for k in node.keys if k is not None]
        return keys if all(isinstance(k, str) for k in keys) else None
    if isinstance(node, ast.Name) and node.id in names:
        return _first_resolved(names[node.id], names, depth)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("keys", "copy") and not node.args:
            return _resolve_keys(func.value, names, depth + 1)
        if isinstance(func, ast.Name) and func.id == "dict":
            found: list = []
            for kw in node.keywords:
                if kw.arg is None:
                    inner = _resolve_keys(kw.value, names, depth + 1)
                    if inner is None:
                        return None
                    found += inner
                else:
                    found.append(kw.arg)
            return found
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if f"{name}()" in names:
            return _first_resolved(names[f"{name}()"], names, depth)
    return None


def _enum_values(trees: list[ast.Module]) -> dict[str, tuple]:
    """``class SchedulerType(ExplicitEnum): LINEAR = "linear" ...`` -> {"SchedulerType": ("linear", ...)}."""
    enums: dict[str, tuple] = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any("Enum" in getattr(b, "id", getattr(b, "attr", "")) for b in node.bases):
                values = [item.value.value for item in node.body if isinstance(item, ast.Assign)
                          and isinstance(item.value, ast.Constant) and isinstance(item.value.value, str)]
                if values:
                    enums[node.name] = tuple(values)
    return enums


def _annotation_choices(annotation: str, enums: dict[str, tuple]) -> tuple | None:
    """Choices an annotation spells: ``Literal["a", "b"]``, or an Enum such as ``SchedulerType | str``."""
    literal: list = []
    enum: list = []
    free_text = False
    for node in ast.walk(ast.parse(annotation, mode="eval")):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "Literal":
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            literal += [a.value for a in args if isinstance(a, ast.Constant)]
        elif isinstance(node, ast.Name) and node.id in enums:
            enum += list(enums[node.id])
        elif isinstance(node, ast.Name) and node.id == "str":
            free_text = True
    # `SchedulerType | str`: the text must name a member. `str | Literal[False]`: any text goes.
    found = enum + literal if enum or not free_text else []
    return tuple(found) if found else None


def _parse_sources() -> dict[str, TrlField]:
    classes: dict[str, tuple[list[str], dict[str, tuple]]] = {}
    trees: list[ast.Module] = []
    for package, files in (*_SOURCES.items(), *_HELPER_SOURCES.items()):
        root = _package_dir(package)
        if root is None:
            continue
        for rel in files:
            path = root / rel
            if not path.is_file():
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            trees.append(tree)
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

    names, enums = _module_names(trees), _enum_values(trees)

    def choices_of(name: str, type_: str, choices) -> tuple | None:
        if name in _CHOICE_TABLES:
            table, extra = _CHOICE_TABLES[name]
            keys = _first_resolved(names.get(table, []), names, 0)
            return tuple(keys) + extra if keys else None
        if isinstance(choices, tuple) and choices[:1] == ("<expr>",):
            keys = _resolve_keys(ast.parse(choices[1], mode="eval").body, names)
            return tuple(keys) if keys else None
        return choices or _annotation_choices(type_, enums)

    catalogue: dict[str, dict] = {}
    for owner, cls in _OWNERS.items():
        for name, (type_, default, help_text, choices) in collect(cls, set()).items():
            choices = choices_of(name, type_, choices)
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
