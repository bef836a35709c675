"""r1cli.config.types: does a YAML value fit an annotation written as text, and coercing strings to numbers."""

from __future__ import annotations

import datetime
import math

import pytest

from r1cli.config.types import coerce, describe, expected_words, fits, suggestion


# --- fits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("annotation, value, expected", [
    # simple names; bools are not ints or floats
    ("int", 3, True), ("int", True, False), ("int", 3.0, False), ("int", "3", False),
    ("float", 3, True), ("float", 2.5, True), ("float", False, False), ("float", "1e-5", False),
    ("float", float("nan"), True),
    ("bool", True, True), ("bool", 1, False), ("bool", "true", False),
    ("str", "x", True), ("str", 1, False), ("str", None, False),
    ("dict", {}, True), ("Dict", {"a": 1}, True), ("dict", [], False),
    ("list", [1, "a"], True), ("List", [], True), ("list", (1,), False),
    ("tuple", (1,), True), ("tuple", [1], True), ("tuple", "ab", False),
    # X | None
    ("int | None", None, True), ("int | None", 3, True), ("int | None", True, False), ("int | None", "3", False),
    ("None | str | list[str]", ["a", "b"], True), ("None | str | list[str]", [1], False),
    # typing.Optional / Union, including forward references
    ("Optional[int]", None, True), ("Optional[int]", "x", False),
    ("Union[int, str]", "x", True), ("Union[int, str]", 1.5, False), ("Union[int, str, None]", None, True),
    ("'int'", 3, True), ("'int'", "x", False), ("Optional['int']", None, True), ("Optional['int']", 2.5, False),
    # containers check their items
    ("list[str]", ["a", "b"], True), ("list[str]", [], True), ("list[str]", ["a", 1], False),
    ("list[str]", "ab", False), ("list[str]", ("a",), False),
    ("List[int]", [1, 2], True), ("list[int]", [1, True], False),
    ("list[float] | None", [1, 0.5], True), ("list[float] | None", [1, "0.5"], False),
    ("dict[str, dict]", {"accuracy": {}, "length": {"target": 1}}, True),
    ("dict[str, dict]", {"accuracy": 1}, False), ("dict[str, dict]", {1: {}}, False), ("dict[str, dict]", [], False),
    ("dict[str, int] | None", {"a": True}, False), ("Dict[str, int]", {"a": 1}, True),
    ("tuple[int, int]", [1, "x"], True),  # tuples are not checked item by item
    # Literal
    ("Literal['grpo', 'sft']", "grpo", True), ("Literal['grpo', 'sft']", "ppo", False),
    ("Literal['grpo', 'sft']", None, False), ("Optional[Literal['a', 'b']]", None, True),
    ("Literal['a'] | int", 3, True), ("Literal[1, 2]", 3, False),
    ("str | None | Literal[False]", False, True), ("str | None | Literal[False]", 1.5, False),
])
def test_fits(annotation, value, expected):
    assert fits(annotation, value) is expected


@pytest.mark.parametrize("annotation", ["SchedulerType | str", "IntervalStrategy", "transformers.SchedulerType",
                                        "typing.Optional[int]", "Callable[[int], int]", "int |", "list[", ""])
def test_unknown_or_unparseable_annotations_accept_anything(annotation):
    # Names r1 does not model (and text that is not Python) accept rather than reject a valid value.
    assert fits(annotation, object())
    assert fits(annotation, 3)


@pytest.mark.parametrize("annotation, value", [("Literal[0, 1]", True), ("str | None | Literal[False]", 0)])
def test_literal_tells_bools_from_ints(annotation, value):
    assert fits(annotation, value) is False


# --- coerce -------------------------------------------------------------------------------------


@pytest.mark.parametrize("annotation, value, expected", [
    ("float", "1e-5", 1e-5), ("float | None", "1e-5", 1e-5), ("float", " 3e-6 ", 3e-6), ("float", "2", 2),
    ("int", "3", 3), ("int", " -7 ", -7), ("int | None", "42", 42),
    ("bool", "yes", True), ("bool", "Off", False), ("bool", "TRUE", True), ("bool | None", "none", None),
    ("int | None", "null", None), ("int | None", "~", None),
    ("Literal[1, 2]", "2", 2),
])
def test_coerce_turns_strings_into_what_the_annotation_wants(annotation, value, expected):
    result = coerce(annotation, value)
    assert result == expected
    assert type(result) is type(expected)


def test_coerce_yaml_1_1_exponent_gives_a_float_not_an_int():
    # "1e-5" is what YAML 1.1 leaves as a string; the number must be the float 1e-05, not rounded to 0.
    value = coerce("float", "1e-5")
    assert isinstance(value, float) and math.isclose(value, 1e-5, rel_tol=0, abs_tol=0)


@pytest.mark.parametrize("annotation, value", [
    ("str", "1e-5"),  # a string key keeps its text
    ("float | str", "1e-5"),  # already fits
    ("int", "1e3"),  # 1000.0 is a float, not an int
    ("int", "3.0"),
    ("int", "three"),
    ("bool", "1"),  # only true/yes/on and false/no/off are booleans
    ("float", "abc"),
    ("list[float]", "1, 2"),
    ("Literal['a', 'b']", "c"),
])
def test_coerce_leaves_values_it_cannot_convert(annotation, value):
    assert coerce(annotation, value) == value
    assert coerce(annotation, value) is value


@pytest.mark.parametrize("annotation, value", [("float", True), ("int", False), ("float", None), ("int", 2.5)])
def test_coerce_never_turns_bools_or_other_types_into_numbers(annotation, value):
    assert coerce(annotation, value) is value


def test_coerce_keeps_a_value_that_already_fits():
    assert coerce("float", 3) == 3 and type(coerce("float", 3)) is int
    items = ["a", "b"]
    assert coerce("list[str]", items) is items


def test_coerce_never_evaluates_the_annotation_or_the_value():
    assert coerce("__import__('os').system('false')", "1") == "1"
    assert coerce("int", "__import__('os')") == "__import__('os')"


def test_coerce_converts_yaml_1_1_exponents_inside_a_list():
    assert coerce("list[float] | None", [1.0, "5e-1"]) == [1.0, 0.5]


# --- describe -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("abc", "the text 'abc'"), (3, "the integer 3"), (1.5, "the number 1.5"), (True, "true"), (False, "false"),
    (None, "null"), ([1, 2], "a list"), ({"a": 1}, "a mapping"), ((1,), "a list"),
    (datetime.date(2024, 1, 1), "the date 2024-01-01"),
])
def test_describe(value, expected):
    assert describe(value) == expected


def test_describe_shortens_long_values():
    shown = describe("x" * 100)
    assert shown == "the text '" + "x" * 39 + "..."
    assert describe("y" * 38) == "the text '" + "y" * 38 + "'"  # 40 characters with the quotes: kept whole


# --- expected_words / suggestion: annotations in words a user reads (issue 16) ----------------------


@pytest.mark.parametrize("annotation, words", [
    ("int", "an integer"), ("int | None", "an integer or null"), ("float", "a number"), ("str | None", "a text or null"),
    ("bool", "true or false"), ("bool | None", "true, false or null"), ("dict", "a mapping"),
    ("dict[str, dict]", "a mapping"), ("dict | str | None", "a mapping, a text or null"),
    ("list[str]", "a list of texts"), ("list[float] | None", "a list of numbers or null"),
    ("None | str | list[str]", "a text, a list of texts or null"),  # null said last whatever the order written
    ("str | None | Literal[False]", "a text, false or null"), ("Literal['grpo', 'sft']", "'grpo' or 'sft'"),
    ("Optional[int]", "an integer or null"), ("str | list[DebugOption]", "a text or a list"),
    ("IntervalStrategy | str", "a text"), ("SomethingUnknown", "any value"),
])
def test_expected_words(annotation, words):
    assert expected_words(annotation) == words


@pytest.mark.parametrize("annotation, suggested", [
    ("int | None", ("an integer", "3")), ("float", ("a number", "1.0e-5")), ("int | str | None", ("an integer", "3")),
    ("list[float] | None", ("a list of numbers", "[1.0, 0.5]")), ("list[str]", ("a list of texts", "[a, b]")),
    ("dict | str | None", ("a mapping", "{key: value}")), ("bool", ("true or false", "true")),
    ("SomethingUnknown", None),
])
def test_suggestion_is_an_example_of_the_right_kind(annotation, suggested):
    assert suggestion(annotation) == suggested


def test_suggestion_for_an_item_inside_a_list():
    assert suggestion("float", item=True) == ("a number", "0.5")
