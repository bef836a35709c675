"""r1cli.config.loader: reading a recipe YAML with the line of every key, and every problem as a Finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from r1cli.config.loader import MAX_ALIASES, MAX_NESTING, Finding, RawRecipe, read_recipe


def write(tmp_path: Path, text: str | bytes, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def only_error(raw: RawRecipe) -> Finding:
    errors = [f for f in raw.findings if f.severity == "error"]
    assert len(errors) == 1, [f.format() for f in raw.findings]
    return errors[0]


# --- line numbers -------------------------------------------------------------------------------

NESTED = """\
model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct
# a comment line does not shift anything
reward_kwargs:
  length:
    target: 100
    max: 3
reward_funcs:
  - accuracy
  - format
dataset_mixture:
  datasets:
    - id: openai/gsm8k
      weight: 0.5
learning_rate: 1.0e-6
"""


def test_lines_of_top_level_nested_and_list_keys(tmp_path):
    raw = read_recipe(write(tmp_path, NESTED))
    assert raw.findings == []
    assert raw.lines == {
        "model_name_or_path": 1,
        "reward_kwargs": 3,
        "reward_kwargs.length": 4,
        "reward_kwargs.length.target": 5,
        "reward_kwargs.length.max": 6,
        "reward_funcs": 7,
        "reward_funcs.0": 8,
        "reward_funcs.1": 9,
        "dataset_mixture": 10,
        "dataset_mixture.datasets": 11,
        "dataset_mixture.datasets.0": 12,
        "dataset_mixture.datasets.0.id": 12,
        "dataset_mixture.datasets.0.weight": 13,
        "learning_rate": 14,
    }
    assert raw.values["reward_kwargs"] == {"length": {"target": 100, "max": 3}}
    assert raw.values["reward_funcs"] == ["accuracy", "format"]
    assert raw.values["dataset_mixture"] == {"datasets": [{"id": "openai/gsm8k", "weight": 0.5}]}
    assert raw.values["learning_rate"] == 1e-6


def test_values_keep_yaml_1_1_types_and_keys_as_written(tmp_path):
    # YAML 1.1 reads 1e-5 (no dot) as a string: types.coerce fixes it later, the loader must not guess.
    raw = read_recipe(write(tmp_path, "lr: 1e-5\nbf16: yes\nnull: 1\n1: two\n"))
    assert raw.findings == []
    assert raw.values == {"lr": "1e-5", "bf16": True, "null": 1, "1": "two"}
    assert raw.lines == {"lr": 1, "bf16": 2, "null": 3, "1": 4}


def test_line_of_falls_back_to_the_closest_written_parent():
    raw = RawRecipe(path=Path("r.yaml"), lines={"reward_kwargs": 4, "reward_kwargs.length": 5, "beta": 0})
    assert raw.line_of("reward_kwargs.length.target") == 5
    assert raw.line_of("reward_kwargs.cosine.min_value") == 4
    assert raw.line_of("reward_kwargs") == 4
    assert raw.line_of("beta") == 0  # set with --set: 0 is an answer, not "unknown"
    assert raw.line_of("beta.x") == 0
    assert raw.line_of("unknown.key") is None
    assert raw.line_of("") is None


def test_error_and_warning_use_the_line_of_the_key_unless_given():
    raw = RawRecipe(path=Path("r.yaml"), lines={"reward_kwargs": 4, "seed": 9})
    raw.error("reward_kwargs.length.target", "must be positive", "use 1 or more")
    raw.error("seed", "bad", line=2)
    raw.warning("reward_kwargs.x", "ignored")
    raw.error(None, "no key")
    assert [(f.severity, f.line, f.key) for f in raw.findings] == [
        ("error", 4, "reward_kwargs.length.target"), ("error", 2, "seed"),
        ("warning", 4, "reward_kwargs.x"), ("error", None, None)]
    assert raw.findings[0].format() == "r.yaml:4: reward_kwargs.length.target: must be positive (fix: use 1 or more)"


# --- Finding ------------------------------------------------------------------------------------


@pytest.mark.parametrize("line, key, hint, expected", [
    (7, "learning_rate", "write a number", "r.yaml:7: learning_rate: expected float (fix: write a number)"),
    (7, None, None, "r.yaml:7: expected float"),
    (None, "learning_rate", None, "r.yaml: learning_rate: expected float"),
    (0, "learning_rate", "x", "r.yaml (--set): learning_rate: expected float (fix: x)"),
])
def test_finding_format(line, key, hint, expected):
    assert Finding("error", "r.yaml", line, key, "expected float", hint).format() == expected


def test_finding_location():
    assert Finding("error", "a/b.yaml", 12, None, "m").location() == "a/b.yaml:12"
    assert Finding("error", "a/b.yaml", 0, None, "m").location() == "a/b.yaml (--set)"
    assert Finding("warning", "a/b.yaml", None, None, "m").location() == "a/b.yaml"


# --- duplicate keys -----------------------------------------------------------------------------


def test_duplicate_top_level_key_is_an_error_at_the_second_line(tmp_path):
    raw = read_recipe(write(tmp_path, "a: 1\nb: 2\na: 3\n"))
    error = only_error(raw)
    assert (error.line, error.key) == (3, "a")
    assert error.message == "duplicate key (first set on line 1); the last value would win"
    assert error.hint == "keep one of the two lines"
    assert raw.values == {"a": 3, "b": 2}  # the rest of the recipe is still read


def test_duplicate_nested_key_and_duplicate_in_a_list_item(tmp_path):
    raw = read_recipe(write(tmp_path, "r:\n  x: 1\n  x: 2\nl:\n  - a: 1\n    a: 2\n"))
    assert [(f.line, f.key, f.message.split(";")[0]) for f in raw.findings] == [
        (3, "r.x", "duplicate key (first set on line 2)"), (6, "l.0.a", "duplicate key (first set on line 5)")]


def test_same_name_under_different_parents_is_not_a_duplicate(tmp_path):
    raw = read_recipe(write(tmp_path, "a:\n  x: 1\nb:\n  x: 2\nx: 3\n"))
    assert raw.findings == []
    assert raw.lines["a.x"] == 2 and raw.lines["b.x"] == 4 and raw.lines["x"] == 5


def test_a_list_as_a_key_is_refused_and_the_rest_is_read(tmp_path):
    raw = read_recipe(write(tmp_path, "? [a, b]\n: 1\nc: 2\n"))
    error = only_error(raw)
    assert error.line == 1 and "a key must be a plain name" in error.message
    assert raw.values == {"c": 2}


# --- syntax errors ------------------------------------------------------------------------------


def test_tab_indentation(tmp_path):
    error = only_error(read_recipe(write(tmp_path, "a: 1\n\tb: 2\n")))
    assert error.line == 2
    assert error.message.startswith("YAML syntax error:")
    assert error.hint == "YAML indentation must use spaces, not tabs"


@pytest.mark.parametrize("quote", ['"', "'"])
def test_unclosed_quote_points_at_where_it_opened(tmp_path, quote):
    error = only_error(read_recipe(write(tmp_path, f"a: 1\nb: {quote}hello\nc: 3\nd: 4\n")))
    assert error.line == 2
    assert error.message == "YAML syntax error: a quoted scalar is never closed (column 4)"
    assert error.format().startswith(f"{tmp_path / 'recipe.yaml'}:2: YAML syntax error")


def test_unclosed_bracket_at_end_of_file_points_at_where_it_opened(tmp_path):
    error = only_error(read_recipe(write(tmp_path, "a: 1\nb: [1, 2\n")))
    assert error.line == 2


def test_colon_inside_an_unquoted_value(tmp_path):
    error = only_error(read_recipe(write(tmp_path, "system_prompt: Answer: think first\n")))
    assert error.line == 1
    assert "mapping values are not allowed" in error.message
    assert error.hint == "put a space after each ':' and quote values that contain ': '"


def test_syntax_error_drops_findings_made_before_it(tmp_path):
    # Nothing read before a syntax error is reliable: only the syntax error is reported.
    raw = read_recipe(write(tmp_path, "a: 1\na: 2\nb: \"open\n"))
    error = only_error(raw)
    assert error.message.startswith("YAML syntax error")
    assert raw.values == {}


# --- refused shapes -----------------------------------------------------------------------------


def test_nesting_too_deep_is_refused_before_recursion(tmp_path):
    depth = 5000  # deep enough that a recursive composer would hit Python's recursion limit
    raw = read_recipe(write(tmp_path, "a: " + "[" * depth + "]" * depth + "\n"))
    error = only_error(raw)
    assert error.line == 1
    assert error.message == f"nested more than {MAX_NESTING} levels deep"
    assert raw.values == {}


def test_nesting_at_the_limit_is_read(tmp_path):
    # The top-level mapping is one level; MAX_NESTING - 1 lists inside it reach exactly the limit.
    inner = MAX_NESTING - 1
    raw = read_recipe(write(tmp_path, "a: " + "[" * inner + "1" + "]" * inner + "\n"))
    assert raw.findings == []
    value = raw.values["a"]
    for _ in range(inner - 1):
        value = value[0]
    assert value == [1]


def test_alias_bomb_is_refused(tmp_path):
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for name, prev in zip("bcde", "abcd"):
        text += f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]\n"
    raw = read_recipe(write(tmp_path, text))
    error = only_error(raw)
    assert error.line == 2  # the first alias
    assert "YAML aliases expand this recipe to more than 100,000 values" == error.message
    assert "billion laughs" in error.hint
    assert raw.values == {}


def test_too_many_aliases(tmp_path):
    raw = read_recipe(write(tmp_path, "a: &a 1\nb:\n" + "".join("  - *a\n" for _ in range(MAX_ALIASES + 1))))
    error = only_error(raw)
    assert error.message == f"more than {MAX_ALIASES} YAML aliases (*name)"
    assert error.line == 3 + MAX_ALIASES  # the alias that crossed the limit


def test_a_few_aliases_are_fine(tmp_path):
    raw = read_recipe(write(tmp_path, "x: &v 3\ny: *v\nz: [*v, *v]\n"))
    assert raw.findings == []
    assert raw.values == {"x": 3, "y": 3, "z": [3, 3]}


def test_python_tag_is_refused_and_nothing_is_built(tmp_path):
    raw = read_recipe(write(tmp_path, "a: 1\nb: !!python/object/apply:os.system ['echo pwned']\n"))
    error = only_error(raw)
    assert error.line == 2
    assert error.message.startswith("YAML tag not allowed:")
    assert "python/object/apply:os.system" in error.message
    assert error.message.endswith("(column 4)")
    assert "remove the `!!` tag" in error.hint
    assert raw.values == {}


def test_integer_of_5000_digits_is_reported_at_its_key(tmp_path):
    raw = read_recipe(write(tmp_path, "seed: 1\nmax_steps: " + "9" * 5000 + "\nbeta: 0.1\n"))
    error = only_error(raw)
    assert (error.line, error.key) == (2, "max_steps")
    assert error.message.startswith("cannot read the value:")
    assert len(error.message) < 300  # one line, not the digits
    assert raw.values == {"seed": 1, "beta": 0.1}


# --- empty, wrong kind, unreadable --------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n   \n", "# only a comment\n  # another\n", "\t\n# tab-only line above\n"])
def test_empty_recipe(tmp_path, text):
    error = only_error(read_recipe(write(tmp_path, text)))
    assert (error.line, error.message) == (1, "recipe is empty")
    assert "r1 init --list" in error.hint


@pytest.mark.parametrize("text, line", [("- a\n- b\n", 1), ("# note\n\njust text\n", 3), ("\n42\n", 2), ("~\n", 1)])
def test_top_level_must_be_a_mapping(tmp_path, text, line):
    raw = read_recipe(write(tmp_path, text))
    error = only_error(raw)
    assert error.message == "a recipe must be a mapping of `key: value` lines"
    assert error.line == line
    assert raw.values == {}


def test_missing_file(tmp_path):
    raw = read_recipe(tmp_path / "nope.yaml")
    error = only_error(raw)
    assert error.format() == f"{tmp_path / 'nope.yaml'}: recipe file not found (fix: check the path, or create one with `r1 init`)"


def test_directory(tmp_path):
    error = only_error(read_recipe(tmp_path))
    assert error.line is None
    assert error.message == "is a directory, not a recipe file"
    assert error.hint == f"pass a YAML file inside it, e.g. {tmp_path}/recipe.yaml"


def test_not_utf8_reports_the_line_and_byte(tmp_path):
    raw = read_recipe(write(tmp_path, b"a: 1\nb: 2\nc: caf\xe9\n"))
    error = only_error(raw)
    assert error.line == 3
    assert error.message == "not valid UTF-8 (byte 16)"  # 0-based offset of the bad byte
    assert error.hint == "save the recipe as UTF-8 text"


def test_huge_file_is_refused_without_parsing(tmp_path):
    raw = read_recipe(write(tmp_path, "a: [" + "1, " * 400_000 + "1]\n"))
    error = only_error(raw)
    assert error.message.startswith("recipe is 1.2 MB")
    assert raw.values == {}


def test_read_recipe_accepts_a_string_path(tmp_path):
    raw = read_recipe(str(write(tmp_path, "a: 1\n")))
    assert raw.path == tmp_path / "recipe.yaml" and raw.values == {"a": 1}


# --- merge keys ---------------------------------------------------------------------------------


def test_top_level_merge_key_applies_the_anchor(tmp_path):
    raw = read_recipe(write(tmp_path, "base: &b\n  lr: 1\n  beta: 2\n<<: *b\nseed: 3\n"))
    assert raw.findings == []
    assert raw.values == {"lr": 1, "beta": 2, "base": {"lr": 1, "beta": 2}, "seed": 3}
    assert "<<" not in raw.values
    assert raw.lines["seed"] == 5
    assert raw.lines["lr"] in (2, 4)  # where the value is written, or where it is merged in


def test_nested_merge_key_with_an_override(tmp_path):
    raw = read_recipe(write(tmp_path, "d: &d\n  x: 1\n  y: 2\nr:\n  <<: *d\n  y: 3\n"))
    assert raw.findings == []
    assert raw.values["r"] == {"x": 1, "y": 3}
    assert raw.line_of("r.y") == 6
    assert raw.line_of("r.x") in (2, 4, 5)


def test_top_level_merge_key_override_is_not_a_duplicate(tmp_path):
    raw = read_recipe(write(tmp_path, "base: &b\n  lr: 1\n  beta: 2\n<<: *b\nlr: 5\n"))
    assert raw.values["lr"] == 5
    assert raw.findings == []
