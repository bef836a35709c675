"""The reward registry: one place that names every reward r1 can use.

Built-in rewards register with the same :func:`register_reward` decorator a
plugin author uses. A recipe names a reward in one of four ways, tried in order:

1. a registered name (``accuracy``; built-ins and anything registered so far);
2. ``package.module:function`` or ``path/to/file.py:function`` — the code is
   imported only now, because a recipe named it;
3. an entry point in the ``r1cli.rewards`` group (third-party packages),
   consulted only for names that are not registered.

A reward is ``f(completions, **kwargs) -> list[float | None]`` (TRL's contract).
Its keyword-only parameters with defaults are its tunables: a recipe sets them
under ``reward_kwargs``, and :func:`check_reward_kwargs` validates them by name,
type and bounds without running anything. Required positional parameters other
than ``completions`` (``solution``) are the dataset columns it needs.

Nothing heavy is imported here (no torch, sympy, math_verify).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1cli.errors import RewardError
from r1cli.rewards.calling import RESERVED_KWARGS  # TRL's own reward arguments: never tunables
from r1cli.rewards.calling import exit_message, no_exit
from r1cli.rewards.params import REQUIRED, Param, ParamSpec, bounds_problem, type_hints, type_problem

ENTRY_POINT_GROUP = "r1cli.rewards"
# Reward files named by path are imported as modules under this package name.
_FILE_MODULE_PREFIX = "r1cli_user_rewards."



@dataclass(frozen=True)
class RewardSpec:
    """Everything known about one reward, without calling it."""

    name: str
    func: Callable[..., list]
    range: tuple[float, float] | None
    description: str
    params: dict[str, ParamSpec] = field(default_factory=dict)
    columns: tuple[str, ...] = ()  # dataset columns the reward needs (e.g. ``solution``)
    source: str = "builtin"  # builtin | plugin | path | entry point
    ref: str = ""  # how to find it again in a fresh process (name or module:function)
    range_fn: Callable[[dict], tuple[float, float]] | None = None
    validate: Callable[[dict], str | None] | None = None
    # True for a reward that checks the final answer against the gold (1.0 = correct). The one rule for
    # "which reward is accuracy" (RewardCalculator.accuracy_name) reads this flag and nothing else.
    verifies_answers: bool = False

    def resolved_kwargs(self, kwargs: dict | None = None) -> dict:
        """Defaults overlaid with ``kwargs`` (which must already be checked)."""
        merged = {n: p.default for n, p in self.params.items() if not p.required}
        merged.update(kwargs or {})
        return merged

    def range_for(self, kwargs: dict | None = None) -> tuple[float, float] | None:
        """The range a call can return with these parameters (``range`` is for the defaults)."""
        if self.range_fn is None:
            return self.range
        return self.range_fn(self.resolved_kwargs(kwargs))


class RewardRegistry(MutableMapping):
    """``name -> reward function``, like open-r1's ``REWARD_FUNCS_REGISTRY``.

    ``REWARD_FUNCS_REGISTRY["mine"] = fn`` registers ``fn`` (as the decorator
    would) and makes ``mine`` usable in recipes; :meth:`spec` gives the full
    :class:`RewardSpec`. Re-registering a name to a different function is an
    error, so every reward keeps a unique metric name.
    """

    def __init__(self) -> None:
        self._specs: dict[str, RewardSpec] = {}

    def __getitem__(self, name: str) -> Callable:
        return self._specs[name].func

    def __setitem__(self, name: str, func: Callable) -> None:
        self.add(build_spec(name, func, source="plugin"))

    def __delitem__(self, name: str) -> None:
        del self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def spec(self, name: str) -> RewardSpec:
        return self._specs[name]

    def add(self, spec: RewardSpec) -> RewardSpec:
        old = self._specs.get(spec.name)
        if old is not None and not _same_function(old.func, spec.func):
            raise RewardError(
                f"reward name {spec.name!r} is already registered (by {_where(old.func)})",
                hint=f"register {_where(spec.func)} under another name",
            )
        self._specs[spec.name] = spec
        return spec


REWARD_FUNCS_REGISTRY = RewardRegistry()


def register_reward(
    name: str,
    *,
    range: tuple[float, float] | Callable[[dict], tuple[float, float]] | None = None,
    description: str | None = None,
    params: dict[str, str | Param] | None = None,
    validate: Callable[[dict], str | None] | None = None,
    verifies_answers: bool = False,
) -> Callable[[Callable], Callable]:
    """Decorator: register ``func`` as reward ``name``.

    ``range`` is what one call can return (a tuple, or a function of the
    resolved parameters when it depends on them); ``description`` defaults to
    the docstring's first line; ``params`` gives help and bounds per keyword-only
    tunable; ``validate(params) -> message | None`` checks combinations;
    ``verifies_answers`` marks a reward that scores 1.0 exactly when the final
    answer equals the gold (what ``eval/accuracy`` and ``r1 eval`` report).
    """

    def decorator(func: Callable) -> Callable:
        module = getattr(func, "__module__", "") or ""
        source = "builtin" if module.startswith("r1cli.rewards.") else "plugin"
        qualname = getattr(func, "__qualname__", "")
        # A plugin in an importable module is found again in a fresh (worker) process by
        # importing that module; one defined in __main__ or a function body cannot be.
        importable = source == "plugin" and module not in ("", "__main__") and "<locals>" not in qualname
        ref = f"{module}:{qualname}" if importable else name
        if importable and module.startswith(_FILE_MODULE_PREFIX):
            ref = f"{getattr(sys.modules.get(module), '__file__', module)}:{qualname}"
        spec = build_spec(
            name, func, range=range, description=description, params=params, validate=validate, source=source, ref=ref,
            verifies_answers=verifies_answers,
        )
        REWARD_FUNCS_REGISTRY.add(spec)
        func.__r1_reward_spec__ = spec
        return func

    return decorator


def build_spec(
    name: str,
    func: Callable,
    *,
    range: tuple[float, float] | Callable[[dict], tuple[float, float]] | None = None,
    description: str | None = None,
    params: dict[str, str | Param] | None = None,
    validate: Callable[[dict], str | None] | None = None,
    source: str = "plugin",
    ref: str | None = None,
    verifies_answers: bool = False,
) -> RewardSpec:
    """Describe ``func`` as a reward: parameters and needed columns from its signature."""
    if not callable(func):
        raise RewardError(f"reward {name!r} is not callable (got {type(func).__name__})")
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise RewardError(f"cannot read the signature of reward {name!r}: {exc}") from None
    hints = type_hints(func)
    extra = {k: (Param(help=v) if isinstance(v, str) else v) for k, v in (params or {}).items()}
    specs: dict[str, ParamSpec] = {}
    columns: list[str] = []
    positional = [p for p in signature.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not positional and not any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values()):
        raise RewardError(f"reward {name!r} must take the completions as its first argument (TRL's calling convention)")
    for p in positional[1:]:
        if p.default is p.empty and p.name not in RESERVED_KWARGS:
            columns.append(p.name)
    for p in signature.parameters.values():
        if p.kind is not p.KEYWORD_ONLY or p.name in RESERVED_KWARGS:
            continue
        info = extra.pop(p.name, Param())
        annotation = hints.get(p.name, p.annotation if p.annotation is not p.empty else Any)
        default = REQUIRED if p.default is p.empty else p.default
        specs[p.name] = ParamSpec(p.name, default, annotation, info.help, info.ge, info.gt, info.le, info.lt)
    if extra:
        raise RewardError(f"reward {name!r} documents parameters it does not take: {', '.join(sorted(extra))}")
    static_range = range(_defaults(specs)) if callable(range) else range
    if static_range is not None:
        static_range = (float(static_range[0]), float(static_range[1]))
    doc = inspect.getdoc(func) or ""
    return RewardSpec(
        name=name,
        func=func,
        range=static_range,
        description=description or (doc.strip().splitlines()[0] if doc.strip() else ""),
        params=specs,
        columns=tuple(columns),
        source=source,
        ref=ref or name,
        range_fn=range if callable(range) else None,
        validate=validate,
        verifies_answers=verifies_answers,
    )


def available_rewards() -> list[str]:
    """Sorted names of every registered reward (built-ins and plugins imported so far)."""
    return sorted(REWARD_FUNCS_REGISTRY)


def get_reward_spec(name_or_path: str) -> RewardSpec:
    """Resolve a name, ``module:function``, ``file.py:function`` or entry point to its :class:`RewardSpec`."""
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise RewardError(f"a reward must be named by a non-empty string, got {name_or_path!r}")
    ref = name_or_path.strip()
    if ref in REWARD_FUNCS_REGISTRY:
        return REWARD_FUNCS_REGISTRY.spec(ref)
    if ":" in ref:
        return _spec_from_path(ref)
    spec = _spec_from_entry_point(ref)
    if spec is not None:
        return spec
    names = available_rewards()
    close = difflib.get_close_matches(ref, names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    hint += f"valid rewards: {', '.join(names)}; or name a custom one as package.module:function or path/to/file.py:function"
    raise RewardError(f"unknown reward {ref!r}", hint=hint)


def check_reward_kwargs(name: str, kwargs: dict) -> None:
    """Raise :class:`RewardError` unless ``kwargs`` are valid tunables of reward ``name``."""
    spec = get_reward_spec(name)
    if not isinstance(kwargs, dict):
        raise RewardError(f"reward_kwargs for {spec.name!r} must be a mapping of parameter: value, got {type(kwargs).__name__}")
    valid = ", ".join(f"{p.name} ({p.type_name}, default {p.default!r})" for p in spec.params.values()) or "none"
    for key, value in kwargs.items():
        param = spec.params.get(key)
        if param is None:
            close = difflib.get_close_matches(str(key), list(spec.params), n=1, cutoff=0.6)
            hint = (f"did you mean {close[0]!r}? " if close else "") + f"parameters of {spec.name}: {valid}"
            raise RewardError(f"reward {spec.name!r} has no parameter {key!r}", hint=hint)
        problem = type_problem(value, param.type) or bounds_problem(value, param)
        if problem:
            raise RewardError(f"reward {spec.name!r}: parameter {key!r} {problem} (got {value!r})",
                              hint=f"give {key} a {param.type_name} value that fits (default {param.default!r})")
    missing = [p.name for p in spec.params.values() if p.required and p.name not in kwargs]
    if missing:
        raise RewardError(f"reward {spec.name!r} needs parameter(s) {', '.join(missing)}", hint=f"set them under reward_kwargs: {spec.name}: ...")
    if spec.validate is not None:
        problem = spec.validate(spec.resolved_kwargs(kwargs))
        if problem:
            raise RewardError(f"reward {spec.name!r}: {problem}")


# --- resolving custom rewards ---------------------------------------------------------------

_path_cache: dict[str, RewardSpec] = {}


def _spec_from_path(ref: str) -> RewardSpec:
    if ref in _path_cache:
        return _path_cache[ref]
    target, _, attr = ref.rpartition(":")
    if not target or not attr.isidentifier():
        raise RewardError(f"cannot read reward reference {ref!r}", hint="use package.module:function or path/to/file.py:function")
    is_file = target.endswith(".py") or "/" in target or "\\" in target
    module = _import_file(target) if is_file else _import_module(target)
    func = getattr(module, attr, None)
    if func is None:
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise RewardError(f"{target} has no function {attr!r}", hint=f"callables there: {', '.join(public) or 'none'}")
    spec = getattr(func, "__r1_reward_spec__", None)
    if spec is None:
        # Not decorated: described from its signature, named by the function; not
        # added to the registry, so it cannot clash with a registered name.
        spec = build_spec(getattr(func, "__name__", attr), func, source="path", ref=ref)
    elif spec.ref != ref:
        spec = _replace(spec, ref=ref)
    _path_cache[ref] = spec
    return spec


def _import_module(name: str) -> types.ModuleType:
    try:
        with no_exit():
            return importlib.import_module(name)
    except ImportError as exc:
        raise RewardError(f"cannot import reward module {name!r}: {exc}") from None
    except BaseException as exc:
        said = exit_message(exc)
        if said is None:
            raise
        raise RewardError(f"importing reward module {name!r} failed: it {said}") from None


def _import_file(target: str) -> types.ModuleType:
    path = Path(target).expanduser().resolve()
    if not path.is_file():
        raise RewardError(f"reward file not found: {target}", hint="paths are relative to the current directory")
    # A stable, unique module name per file, so pickling by reference and repeated
    # lookups find the same module instead of executing the file twice.
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    mod_name = f"{_FILE_MODULE_PREFIX}{path.stem}_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise RewardError(f"cannot import reward file {target}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        with no_exit():  # sys.exit or os._exit at import time is reported, not obeyed
            spec.loader.exec_module(module)
    except RewardError:
        del sys.modules[mod_name]
        raise
    except Exception as exc:
        del sys.modules[mod_name]
        raise RewardError(f"importing reward file {target} failed: {type(exc).__name__}: {exc}") from None
    except BaseException as exc:
        del sys.modules[mod_name]
        said = exit_message(exc)
        if said is None:  # KeyboardInterrupt
            raise
        raise RewardError(f"importing reward file {target} failed: it {said}",
                          hint="a reward file defines functions; it must not end the process") from None
    return module


def _spec_from_entry_point(name: str) -> RewardSpec | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name != name:
            continue
        try:
            func = ep.load()
        except Exception as exc:
            raise RewardError(f"loading reward {name!r} from entry point {ep.value} failed: {type(exc).__name__}: {exc}") from None
        spec = getattr(func, "__r1_reward_spec__", None)
        if spec is None or spec.name != name:
            spec = build_spec(name, func, source="entry point", ref=name)
            REWARD_FUNCS_REGISTRY.add(spec)
        return spec
    return None


# --- helpers -------------------------------------------------------------------------------


def _replace(spec: RewardSpec, **changes: Any) -> RewardSpec:
    from dataclasses import replace

    return replace(spec, **changes)


def _same_function(a: Callable, b: Callable) -> bool:
    # Re-executing the same module (a reload, or a file imported twice) re-registers
    # an equal function: same qualified name, same file. Anything else is a clash.
    if a is b:
        return True
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    return (
        code_a is not None
        and code_b is not None
        and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None)
        and code_a.co_filename == code_b.co_filename
    )


def _where(func: Callable) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def _defaults(specs: dict[str, ParamSpec]) -> dict:
    return {n: p.default for n, p in specs.items() if not p.required}
