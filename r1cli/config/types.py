"""Checking and coercing recipe values against type annotations written as strings.

Both r1's schema (``from __future__ import annotations``) and the TRL field
catalogue hold annotations as source text such as ``"list[float] | None"``.
This module reads that text with :mod:`ast` (never ``eval``) and answers two
questions: does a YAML value fit, and can a string such as ``"1e-5"`` (which
YAML 1.1 reads as a string) be turned into the number the key expects.
Names it does not know (``IntervalStrategy``, ``SchedulerType``) accept anything.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any

_SIMPLE = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "dict": lambda v: isinstance(v, dict),
    "Dict": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "List": lambda v: isinstance(v, list),
    "tuple": lambda v: isinstance(v, (list, tuple)),
}


@lru_cache(maxsize=512)
def _parse(annotation: str) -> ast.AST:
    try:
        return ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return ast.Name(id="Any")


def _alternatives(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _alternatives(node.left) + _alternatives(node.right)
    if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) in ("Union", "Optional"):
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        extra = [ast.Constant(None)] if node.value.id == "Optional" else []
        return [alt for n in inner for alt in _alternatives(n)] + extra
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _alternatives(_parse(node.value))  # a forward reference
    return [node]


def _same_constant(constant: Any, value: Any) -> bool:
    # True == 1 and 0 == False in Python; a recipe tells booleans from numbers.
    return isinstance(constant, bool) == isinstance(value, bool) and constant == value


def _fits(node: ast.AST, value: Any) -> bool:
    if isinstance(node, ast.Constant):
        return value is None if node.value is None else _same_constant(node.value, value)
    if isinstance(node, ast.Name):
        return _SIMPLE.get(node.id, lambda v: True)(value)
    if isinstance(node, ast.Attribute):
        return True
    if isinstance(node, ast.Subscript):
        outer = getattr(node.value, "id", None)
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "Literal":
            return any(isinstance(a, ast.Constant) and _same_constant(a.value, value) for a in args)
        if outer in ("list", "List", "tuple"):
            return isinstance(value, (list, tuple) if outer == "tuple" else list) and (
                outer == "tuple" or all(fits(ast.unparse(args[0]), item) for item in value))
        if outer in ("dict", "Dict"):
            return isinstance(value, dict) and all(
                fits(ast.unparse(args[0]), k) and fits(ast.unparse(args[-1]), v) for k, v in value.items())
        return True
    return True  # an annotation form r1 does not model: accept rather than reject a valid value


def fits(annotation: str, value: Any) -> bool:
    """True when ``value`` (as YAML produced it) is acceptable for ``annotation``."""
    return any(_fits(alt, value) for alt in _alternatives(_parse(annotation)))


def coerce(annotation: str, value: Any) -> Any:
    """Turn a string into the number or boolean the annotation wants; otherwise return ``value``.

    YAML 1.1 reads ``1e-5`` as a string; ``--set lr=3`` arrives as text.
    """
    if fits(annotation, value):
        return value
    if isinstance(value, str):
        text = value.strip()
        for candidate in _string_candidates(text):
            if fits(annotation, candidate):
                return candidate
    if isinstance(value, int) and not isinstance(value, bool) and fits(annotation, float(value)):
        return float(value)
    if isinstance(value, list):  # `reward_weights: [1.0, 5e-1]`: each item as the list's item type wants
        for alt in _alternatives(_parse(annotation)):
            if isinstance(alt, ast.Subscript) and getattr(alt.value, "id", None) in ("list", "List"):
                inner = ast.unparse(alt.slice.elts[0] if isinstance(alt.slice, ast.Tuple) else alt.slice)
                items = [coerce(inner, item) for item in value]
                if fits(annotation, items):
                    return items
    return value


def _string_candidates(text: str) -> list[Any]:
    found: list[Any] = []
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        found.append(True)
    if lowered in ("false", "no", "off"):
        found.append(False)
    if lowered in ("none", "null", "~"):
        found.append(None)
    try:
        found.append(int(text))
    except ValueError:
        pass
    try:
        found.append(float(text))
    except ValueError:
        pass
    found.append(text)
    return found


def describe(value: Any) -> str:
    """``str 'abc'`` / ``int 3`` / ``list`` -- how a wrong value is shown in messages."""
    name = type(value).__name__ if value is not None else "null"
    if isinstance(value, (str, int, float, bool)):
        shown = repr(value)
        return f"{name} {shown[:40] + '...' if len(shown) > 40 else shown}"
    return name


def misfit(annotation: str, value: Any) -> tuple[str, str, Any]:
    """Where ``value`` stops fitting ``annotation``: (dotted path inside the value, annotation there, value there).

    ``reward_kwargs: {length: 300}`` against ``dict[str, dict]`` answers ``("length", "dict", 300)``, so the
    message names the item that is wrong rather than the mapping around it. ("", annotation, value) when the
    container itself is of the wrong kind.
    """
    for alt in _alternatives(_parse(annotation)):
        if not isinstance(alt, ast.Subscript):
            continue
        outer = getattr(alt.value, "id", None)
        args = alt.slice.elts if isinstance(alt.slice, ast.Tuple) else [alt.slice]
        if outer in ("list", "List") and isinstance(value, list):
            items, inner = enumerate(value), ast.unparse(args[0])
        elif outer in ("dict", "Dict") and isinstance(value, dict):
            items, inner = value.items(), ast.unparse(args[-1])
        else:
            continue
        for key, item in items:
            if not fits(inner, item):
                path, deeper, found = misfit(inner, item)
                return (f"{key}.{path}" if path else str(key)), deeper, found
    return "", annotation, value
