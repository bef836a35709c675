"""Reading a recipe YAML file, keeping the line of every key.

PyYAML's composer gives each node its position; r1 walks the node tree to
record the line of every mapping key (as a dotted path such as
``reward_kwargs.length.target``) and to catch duplicate keys, which plain
``yaml.safe_load`` silently resolves to the last value. Problems come back as
:class:`Finding` objects so that the validator can report all of them at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from r1cli.errors import first_line

MAX_RECIPE_BYTES = 1_000_000  # recipes are a few KB; anything this large is a mistake
# PyYAML composes and constructs recursively, so deep nesting would end in a RecursionError, and
# nested aliases expand exponentially ("billion laughs"). Recipes need neither; both are refused.
MAX_NESTING = 50
MAX_ALIASES = 100
MAX_VALUES = 100_000


@dataclass
class Finding:
    """One problem in a recipe, printed as ``file:line: key: message``."""

    severity: Literal["error", "warning"]
    file: str
    line: int | None
    key: str | None
    message: str
    hint: str | None = None
    # "recipe": the recipe is wrong. "machine": the recipe may be right, but this machine cannot run it
    # (a warning from `r1 validate`, an error with `--here` and for `r1 grpo` / `r1 sft`).
    kind: Literal["recipe", "machine"] = "recipe"

    def location(self) -> str:
        if self.line == 0:
            return f"{self.file} (--set)"
        return f"{self.file}:{self.line}" if self.line else self.file

    def format(self) -> str:
        text = f"{self.location()}: {self.key + ': ' if self.key else ''}{self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


@dataclass
class RawRecipe:
    """The recipe as written: values, the line of each key, and problems found while reading."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # Values refused by a check (wrong type, out of range): later checks see the default instead.
    rejected: dict[str, Any] = field(default_factory=dict)

    def line_of(self, dotted: str) -> int | None:
        """Line of ``a.b.c``, falling back to its closest written parent."""
        while dotted:
            if dotted in self.lines:  # 0 (from --set) is a valid answer
                return self.lines[dotted]
            dotted = dotted.rpartition(".")[0]
        return None

    def error(self, key: str | None, message: str, hint: str | None = None, line: int | None = None) -> None:
        self.findings.append(Finding("error", str(self.path), line or (self.line_of(key) if key else None), key, message, hint))

    def warning(self, key: str | None, message: str, hint: str | None = None) -> None:
        self.findings.append(Finding("warning", str(self.path), self.line_of(key) if key else None, key, message, hint))

    def machine(self, key: str | None, message: str, hint: str | None = None) -> None:
        """This machine cannot run what the recipe asks (a package or GPU missing): not a mistake in the recipe."""
        self.findings.append(Finding("warning", str(self.path), self.line_of(key) if key else None, key, message, hint,
                                     kind="machine"))


def _walk(node: yaml.Node, prefix: str, raw: RawRecipe) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raw.error(prefix or None, "a key must be a plain name, not a list or mapping",
                          "write `name: value`", line=line)
                continue
            name = key_node.value
            dotted = f"{prefix}.{name}" if prefix else name
            if name in seen:
                raw.error(dotted, f"duplicate key (first set on line {seen[name]}); the last value would win",
                          "keep one of the two lines", line=line)
            seen[name] = line
            raw.lines[dotted] = line
            _walk(value_node, dotted, raw)
        # Drop what was reported above so the rest of the recipe can still be read and checked.
        node.value[:] = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            raw.lines[f"{prefix}.{index}"] = item.start_mark.line + 1
            _walk(item, f"{prefix}.{index}", raw)


def _shape_problem(text: str) -> tuple[int, str, str] | None:
    """(line, message, fix) when the YAML nests too deeply or its aliases expand too far.

    Nesting and alias counts come from the parser's events, which PyYAML produces
    without recursion, before anything recursive sees the document. YAML syntax
    errors propagate.
    """
    depth, aliases = 0, []
    open_anchors: list[str | None] = []  # the anchor of each mapping or list not yet closed
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            open_anchors.append(event.anchor)
            if depth > MAX_NESTING:
                return line, f"nested more than {MAX_NESTING} levels deep", \
                    "a recipe is flat `key: value` lines; only reward_kwargs and dataset_mixture nest, a few levels"
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
            open_anchors.pop()
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:  # `a: &x [1, *x]`: a value that contains itself has no end
                return line, f"the alias *{event.anchor} refers to a value that contains it (a recursive value)", \
                    f"write the value out instead of *{event.anchor}"
            aliases.append(line)
            if len(aliases) > MAX_ALIASES:
                return line, f"more than {MAX_ALIASES} YAML aliases (*name)", "write the values out instead of aliasing them"
    if aliases:
        node = yaml.compose(text, Loader=yaml.SafeLoader)  # no deeper than MAX_NESTING + MAX_ALIASES: safe to recurse
        if node is not None and _expanded_size(node, {}) > MAX_VALUES:
            return aliases[0], f"YAML aliases expand this recipe to more than {MAX_VALUES:,} values", \
                "write the values out; nested aliases multiply (a 'billion laughs' file)"
    return None


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for once its aliases are expanded (memoised: linear in the node count)."""
    key = id(node)
    if key not in sizes:
        sizes[key] = 1  # a node that contains itself through an alias counts once
        if isinstance(node, yaml.MappingNode):
            sizes[key] = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            sizes[key] = 1 + sum(_expanded_size(item, sizes) for item in node.value)
    return sizes[key]


def _indented_key(text: str, line: int | None) -> bool:
    """Is 1-based ``line`` a ``key: value`` line indented deeper than the line above, which already has a value?

    That is a key indented by mistake: YAML reads it as part of the value above ("mapping values are not allowed").
    """
    lines = text.splitlines()
    if line is None or not 1 < line <= len(lines):
        return False
    here = lines[line - 1]
    above = next((ln for ln in reversed(lines[: line - 1]) if ln.strip() and not ln.lstrip().startswith("#")), "")
    indent = lambda ln: len(ln) - len(ln.lstrip(" "))  # noqa: E731
    key_line = re.match(r"\s*[\w.-]+\s*:(\s|$)", here) is not None
    above_has_value = re.match(r"\s*[\w.-]+\s*:\s*\S", above) is not None
    return key_line and above_has_value and indent(here) > indent(above)


def _syntax_hint(problem: str, text: str = "", line: int | None = None) -> str:
    if "mapping values are not allowed" in problem and _indented_key(text, line):
        return "this key is indented under the line above, which already has a value: start it in the same column"
    if "\\t" in problem or "tab" in problem.lower():
        return "YAML indentation must use spaces, not tabs"
    if "expected <block end>" in problem or "did not find expected key" in problem:  # issue 16: a bad indent
        return "check the indentation: keys at one level start in the same column, nested ones further in"
    if "mapping values are not allowed" in problem:
        return "put a space after each ':' and quote values that contain ': '"
    if "could not find expected ':'" in problem:
        return "each line needs `key: value`; check the line above for a missing colon or quote"
    return "check the indentation and quoting around this line"


def read_recipe(path: str | Path) -> RawRecipe:
    """Read ``path`` into a :class:`RawRecipe`. Never raises for bad content: problems become findings."""
    path = Path(path)
    raw = RawRecipe(path=path)
    if not path.exists():
        raw.error(None, "recipe file not found", "check the path, or create one with `r1 init`")
        return raw
    if path.is_dir():
        raw.error(None, "is a directory, not a recipe file", f"pass a YAML file inside it, e.g. {path}/recipe.yaml")
        return raw
    size = path.stat().st_size
    if size > MAX_RECIPE_BYTES:
        raw.error(None, f"recipe is {size / 1e6:.1f} MB; recipes are small YAML files",
                  "pass the recipe, not a dataset or model file")
        return raw
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raw.error(None, f"not valid UTF-8 (byte {exc.start})", "save the recipe as UTF-8 text", line=line)
        return raw
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raw.error(None, "recipe is empty", "start from a template: `r1 init --list`", line=1)
        return raw
    loader = yaml.SafeLoader(text)
    try:
        shape = _shape_problem(text)
        if shape is not None:
            raw.error(None, shape[1], shape[2], line=shape[0])
            return raw
        node = loader.get_single_node()
        if node is None:
            raw.error(None, "recipe is empty", "start from a template: `r1 init --list`", line=1)
            return raw
        if not isinstance(node, yaml.MappingNode):
            raw.error(None, "a recipe must be a mapping of `key: value` lines", "see `r1 init --list` for examples",
                      line=node.start_mark.line + 1)
            return raw
        _walk(node, "", raw)  # lines and duplicates of the keys as written (a key may override a merged one)
        loader.flatten_mapping(node)  # `<<: *defaults` merge keys, as construct_document would apply them
        for key_node, _ in node.value:  # merged keys not written at the top: the line of their anchor's copy
            if isinstance(key_node, yaml.ScalarNode):
                raw.lines.setdefault(key_node.value, key_node.start_mark.line + 1)
        values = _construct(loader, node, raw)
    except yaml.constructor.ConstructorError as exc:
        raw.findings = [f for f in raw.findings if f.severity != "error"]
        mark = exc.problem_mark
        where = f" (column {mark.column + 1})" if mark else ""
        if "merging" in (exc.problem or ""):  # `<<: 5`: a merge key needs a mapping (or a list of them)
            raw.error("<<", f"a `<<` merge key must be followed by a mapping or *alias of one: {exc.problem}{where}",
                      "write `<<: *defaults` where `defaults` anchors a mapping, or remove the `<<` line",
                      line=mark.line + 1 if mark else None)
        else:  # a tag such as !!python/object/apply: SafeLoader builds no Python objects, so it is refused
            raw.error(None, f"YAML tag not allowed: {exc.problem}{where}",
                      "a recipe is plain YAML; remove the `!!` tag (r1 never builds objects or runs code from a recipe)",
                      line=mark.line + 1 if mark else None)
        return raw
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if ("end of stream" in problem or "<stream end>" in problem) and getattr(exc, "context_mark", None):
            # An unclosed quote or bracket is found at the end of the file; point at where it opened.
            mark = exc.context_mark
            opened = exc.context.removeprefix("while scanning ").removeprefix("while parsing ")
            problem = f"{opened} is never closed"
        raw.findings = [f for f in raw.findings if f.severity != "error"]
        raw.error(None, f"YAML syntax error: {problem}" + (f" (column {mark.column + 1})" if mark else ""),
                  _syntax_hint(problem, text, mark.line + 1 if mark else None), line=mark.line + 1 if mark else None)
        return raw
    finally:
        loader.dispose()
    raw.values = values
    return raw


def _construct(loader: yaml.SafeLoader, node: yaml.MappingNode, raw: RawRecipe) -> dict[str, Any]:
    """The top-level mapping value by value, keyed by the names as written (``null:`` is the key "null").

    A value PyYAML cannot build (an integer of 5,000 digits) is reported at its key.
    """
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        try:
            values[key_node.value] = loader.construct_object(value_node, deep=True)
        except (ValueError, TypeError, OverflowError) as exc:
            raw.error(key_node.value, f"cannot read the value: {first_line(exc)}",
                      "write a plain number, string, list or mapping", line=key_node.start_mark.line + 1)
    return values


def read_value(text: str) -> tuple[Any, tuple[str, str] | None]:
    """One ``--set`` value as YAML, behind the same guards as a recipe file: (value, (problem, fix) or None).

    Text that is not valid YAML is taken as a plain string (``--set system_prompt=a: b``).
    """
    if not text.strip():
        return "", None
    try:
        shape = _shape_problem(text)
    except yaml.YAMLError:
        return text, None
    if shape is not None:
        return None, shape[1:]
    try:
        return yaml.safe_load(text), None
    except yaml.constructor.ConstructorError as exc:
        return None, (f"YAML not allowed here: {exc.problem}", "pass a plain number, string, list or mapping")
    except yaml.YAMLError:
        return text, None
    except (ValueError, TypeError, OverflowError) as exc:
        return None, (f"cannot read the value: {first_line(exc)}", "pass a plain number, string, list or mapping")
