"""Reward parameters: how a tunable is described (:class:`ParamSpec`) and checked against a value.

A reward's keyword-only parameters with defaults are its tunables. Their
annotations give the type a recipe value must have (``float`` accepts ints,
``int`` refuses floats and bools, ``Literal`` lists the choices, ``X | None``
allows null); :class:`Param` adds help text and numeric bounds.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Param:
    """Help and bounds for one tunable, given to :func:`register_reward` as ``params={name: Param(...)}``."""

    help: str = ""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None


@dataclass(frozen=True)
class ParamSpec:
    """A keyword-only tunable of a reward, as a recipe may set it in ``reward_kwargs``."""

    name: str
    default: Any
    type: Any  # the annotation (a type, a typing construct, or its string when it cannot be resolved)
    help: str = ""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_name(self) -> str:
        return type_name(self.type)


def type_hints(func: Callable) -> dict:
    target = func if inspect.isfunction(func) or inspect.ismethod(func) else getattr(func, "__call__", func)
    try:
        return typing.get_type_hints(target)
    except Exception:
        return {}


def type_name(annotation: Any) -> str:
    if annotation is Any or annotation is inspect.Parameter.empty:
        return "any"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def type_problem(value: Any, annotation: Any) -> str | None:
    """Why ``value`` does not fit ``annotation``, or None. Unknown annotations accept anything."""
    if annotation is Any or isinstance(annotation, str):
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        return None if value in choices else f"must be one of {', '.join(repr(c) for c in choices)}"
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if any(type_problem(value, option) is None for option in options):
            return None
        return f"must be {type_name(annotation)}"
    if annotation is type(None):
        return None if value is None else "must be null"
    if annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be an integer"
    if annotation is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if annotation is str:
        return None if isinstance(value, str) else "must be a string"
    check = origin or annotation
    if isinstance(check, type):
        if check in (list, tuple) and isinstance(value, (list, tuple)):
            return None
        return None if isinstance(value, check) else f"must be {type_name(annotation)}"
    return None


def bounds_problem(value: Any, param: ParamSpec) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if param.gt is not None and not value > param.gt:
        return f"must be > {param.gt:g}"
    if param.ge is not None and not value >= param.ge:
        return f"must be >= {param.ge:g}"
    if param.lt is not None and not value < param.lt:
        return f"must be < {param.lt:g}"
    if param.le is not None and not value <= param.le:
        return f"must be <= {param.le:g}"
    return None
