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
import datetime
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


def kind_of(value: Any) -> str:
    """What a YAML value is, in words: ``a text`` / ``an integer`` / ``a number`` / ``true`` / ``a list`` / ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    for kind, words in ((str, "a text"), (int, "an integer"), (float, "a number"), (dict, "a mapping"),
                        ((list, tuple), "a list")):
        if isinstance(value, kind):
            return words
    if isinstance(value, (datetime.date, datetime.time)):  # YAML reads 2024-01-01 as a date
        return "a date" if isinstance(value, datetime.date) else "a time"
    return f"a {type(value).__name__}"


def describe(value: Any) -> str:
    """How a wrong value is shown in messages: ``the text 'abc'`` / ``the integer 3`` / ``true`` / ``a list``."""
    if isinstance(value, bool) or value is None:
        return kind_of(value)
    if isinstance(value, (str, int, float, datetime.date)):
        shown = repr(value) if isinstance(value, str) else str(value)
        return f"the {kind_of(value)[2:].lstrip()} {shown[:40] + '...' if len(shown) > 40 else shown}"
    return kind_of(value)


# Each annotation name r1 models, in words (singular, plural) and with an example of a YAML value of that kind.
_WORDS = {
    "str": ("a text", "texts", '"some text"'), "int": ("an integer", "integers", "3"),
    "float": ("a number", "numbers", "1.0e-5"), "bool": ("true or false", "true/false values", "true"),
    "dict": ("a mapping", "mappings", "{key: value}"), "Dict": ("a mapping", "mappings", "{key: value}"),
    "list": ("a list", "lists", "[a, b]"), "List": ("a list", "lists", "[a, b]"),
    "tuple": ("a list", "lists", "[a, b]"),
}


def _literal(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return kind_of(value)
    return repr(value) if isinstance(value, str) else str(value)


def _node_words(node: ast.AST, plural: bool = False) -> list[str]:
    """One alternative in words; [] for a name r1 does not model (it accepts anything, so it never misfits)."""
    if isinstance(node, ast.Constant):
        return [_literal(node.value)]
    if isinstance(node, ast.Name):
        if node.id == "bool":
            return ["true/false values"] if plural else ["true", "false"]
        words = _WORDS.get(node.id)
        return [words[1] if plural else words[0]] if words else []
    if isinstance(node, ast.Subscript):
        outer = getattr(node.value, "id", None)
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "Literal":
            return [_literal(a.value) for a in args if isinstance(a, ast.Constant)]
        if outer in ("list", "List") and args:
            inner = expected_words(ast.unparse(args[0]), plural=True)
            container = "lists" if plural else "a list"
            return [f"{container} of {inner}" if inner != "any values" else container]
        if outer in _WORDS:
            return [_WORDS[outer][1 if plural else 0]]
    return []


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def expected_words(annotation: str, plural: bool = False) -> str:
    """An annotation as a user reads it: ``int | None`` is ``an integer or null``, ``list[str]`` ``a list of texts``."""
    items: list[str] = []
    for alt in _alternatives(_parse(annotation)):
        for words in _node_words(alt, plural):
            if words not in items:
                items.append(words)
    nulls = [w for w in items if w in ("null", "nulls")]
    items = [w for w in items if w not in nulls] + nulls  # null last: "an integer or null"
    return _join(items) if items else ("any values" if plural else "any value")


def _example(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant):
        return None if node.value is None else _literal(node.value)
    if isinstance(node, ast.Name):
        words = _WORDS.get(node.id)
        return words[2] if words else None
    if isinstance(node, ast.Subscript):
        outer = getattr(node.value, "id", None)
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "Literal":
            return next((_literal(a.value) for a in args if isinstance(a, ast.Constant)), None)
        if outer in ("list", "List") and args:
            inner = args[0].id if isinstance(args[0], ast.Name) else None
            return {"int": "[1, 2]", "float": "[1.0, 0.5]", "bool": "[true, false]"}.get(inner, "[a, b]")
        if outer in _WORDS:
            return _WORDS[outer][2]
    return None


def suggestion(annotation: str, *, item: bool = False) -> tuple[str, str] | None:
    """The annotation's first kind r1 models, in words with an example value: ``int | None`` is ("an integer", "3").

    What a fix suggests (a float key: ``1.0e-5``, an integer key: ``3``); None when nothing is modelled.
    ``item``: the value is an item of a list or mapping (``reward_weights.0``), where a float is rather ``0.5``.
    """
    for alt in _alternatives(_parse(annotation)):
        found = _example(alt)
        if item and found == _WORDS["float"][2]:
            found = "0.5"
        if found is not None:
            return _join(_node_words(alt)), found
    return None


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
