"""Parsing and comparing answers with math-verify, always under a time limit.

:func:`parse_gold` and :func:`parse_answer` turn a gold or a completion into an
:class:`Answer` (the text found by :mod:`r1cli.rewards.answer_text`, parsed);
:func:`verify_completion` and :func:`answers_equal` compare them. math-verify
and latex2sympy2_extended (and so sympy) are imported on first use, never at
import. Inputs are capped before parsing, and parsed expressions whose
evaluation would need astronomically large numbers are refused, so hostile
completions cannot stall a run; every parse and comparison runs under
:func:`r1cli.rewards.timeout.call_with_time_limit`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from r1cli.rewards.answer_text import (
    LATEX_TEXT,
    MAX_ANSWER_CHARS,
    MAX_BRACE_DEPTH,
    PROSE_WORD,
    gold_answer_text,
    locate_answer,
    max_depth,
    number_from_words,
    refused,
)
from r1cli.rewards.text import completion_text
from r1cli.rewards.timeout import TimeLimitExceeded, call_with_time_limit

DEFAULT_TIMEOUT = 5.0
MAX_FREE_TAIL_CHARS = 2_000
# Parsed answers whose evaluation would need numbers this large are refused: big-integer
# arithmetic is C code that only a signal can interrupt, and only on the main thread.
MAX_RESULT_DIGITS = 100_000
_GOLD_CACHE_SIZE = 4_096


@dataclass(frozen=True)
class Answer:
    """A parsed answer: the text that was parsed and math-verify's parse of it."""

    text: str
    parsed: tuple

    @property
    def key(self) -> str:
        """A canonical string, to group answers cheaply before comparing them with :func:`answers_equal`."""
        first = self.parsed[0] if self.parsed else self.text
        return str(first)


class _DropTimeoutDisabled(logging.Filter):
    # r1 turns math-verify's signal.alarm timeouts off on purpose (its own limit
    # works on every thread), so math-verify's warning about that is noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


@functools.cache
def _mv() -> Any:
    import math_verify
    import sympy
    from latex2sympy2_extended import NormalizationConfig

    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(_DropTimeoutDisabled())

    class MV:
        parse = staticmethod(math_verify.parse)
        verify = staticmethod(math_verify.verify)
        # Golds: math-verify's default (lenient) LaTeX normalisation.
        gold_configs = (math_verify.LatexExtractionConfig(),)
        # Answers: as open-r1 and TRL parse completions (\boxed first, no "nits"), except that
        # TeX's brace-less \frac43 and \sqrt2 are accepted: they are valid LaTeX, and MATH's
        # own reference solutions use them.
        answer_configs = (
            math_verify.LatexExtractionConfig(
                normalization_config=NormalizationConfig(
                    basic_latex=True, units=True, malformed_operators=True, nits=False, boxed="all"
                ),
                boxed_match_priority=0,
            ),
        )
        # Free text (no <answer>, no \boxed): math-verify's defaults, LaTeX and plain expressions.
        # Only here, because plain-expression parsing (sympy's parse_expr) costs ~0.4 ms a call.
        default_configs = (math_verify.LatexExtractionConfig(), math_verify.ExprExtractionConfig())
        Basic, Add, Pow, factorial = sympy.Basic, sympy.Add, sympy.Pow, sympy.factorial
        Sum, Product, evaluate = sympy.Sum, sympy.Product, staticmethod(sympy.evaluate)
        Integer, Float = sympy.Integer, sympy.Float

    return MV


# A plain number, optionally with thousands separators: 18, -3.5, 1,080.
# A group of thousands never starts with 0: "0,111" is Math-Verify's decimal comma (0.111), not 111.
_PLAIN_NUMBER = re.compile(r"-?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?")
# Digit-group separators between a digit and exactly three more, as MATH and people write large
# numbers: "900,\!000", "1\,000", "10{,}000", "1 000", "1~000". Removed before anything reads the
# number, so LaTeX spacing never splits it into a product (1\,000 = 1*000) or a set ({12, 0}).
_DIGIT_GROUP = re.compile(r"(?<=\d)(?:,\\!|\\!,|\{,\}|\\[,!;: ]|~| )(?=\d{3}(?!\d))")
# An unpaired $ right after a number ("1,000.99$") is a currency sign too.
_TRAILING_CURRENCY = re.compile(r"(?<=[\d.])\s*(?<!\\)\$$")
_DOLLAR = re.compile(r"(?<!\\)\$")
_CURRENCY = re.compile(r"(?<!\\)\$(?=\s*[-\d.])")
_MATH_DELIMITERS = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed|\\fbox")
# LaTeX spacing and an escaped dollar sign carry no mathematical meaning: "\$32,\!348" is 32348.
_NOISE = re.compile(r"\\\$|\\[!,;:]|\\(?:q?quad)\b")
# One or two words ("Evelyn", "New York"): compared as text. Longer prose is not an answer.
_SHORT_WORDS = re.compile(r"[^\W\d_][^\W\d_\s'-]*(?:[\s'-]+[^\W\d_][^\W\d_\s'-]*)?\.?")


def _parse_span(span: str, configs: tuple) -> list:
    """Parse a short answer: LaTeX/expression as is, prose by math-verify's extraction, short words as text."""
    mv = _mv()
    span = _NOISE.sub(" ", _DIGIT_GROUP.sub("", span)).strip()
    if len(_DOLLAR.findall(span)) % 2:
        # An unpaired $ is a currency sign ("$18", "$1,000", "1,000.99$"), not the start of LaTeX.
        span = _TRAILING_CURRENCY.sub("", _CURRENCY.sub("", span)).strip()
    if not span:
        return []
    spelled = number_from_words(span)
    if spelled is not None:  # "forty two", "one hundred and five"
        return [mv.Integer(spelled), span]
    if _PLAIN_NUMBER.fullmatch(span):
        # The commonest answer by far. math-verify would build the same sympy number through
        # the LaTeX parser and sympy's parse_expr (~1 ms); this takes microseconds.
        digits = span.replace(",", "")
        return [mv.Float(digits) if "." in digits else mv.Integer(digits), span]
    if _has_math_delimiters(span):
        return mv.parse(span, list(configs), parsing_timeout=None)
    if PROSE_WORD.search(LATEX_TEXT.sub(" ", span)):
        found = mv.parse(span, list(mv.default_configs), parsing_timeout=None)
        if found or not _SHORT_WORDS.fullmatch(span):
            return found
        # A word answer ("Evelyn", "even"): compare it as MATH writes one, \text{Evelyn}.
        return mv.parse(f"$\\text{{{span.rstrip('.')}}}$", list(configs), parsing_timeout=None)
    return mv.parse(f"${span}$", list(configs), parsing_timeout=None)


def _has_math_delimiters(span: str) -> bool:
    return _MATH_DELIMITERS.search(span) is not None


def _too_big(parsed: Sequence[Any]) -> bool:
    """True if evaluating any parsed expression could involve astronomically large numbers."""
    basic = _mv().Basic
    return any(isinstance(item, basic) and _log10_size(item, 0) > MAX_RESULT_DIGITS for item in parsed)


def _log10_size(expr: Any, depth: int) -> float:
    """A cheap upper estimate of log10 |value| of a sympy expression (0 for symbols and unknowns)."""
    mv = _mv()
    Add, Pow, factorial = mv.Add, mv.Pow, mv.factorial
    if depth > 2 * MAX_BRACE_DEPTH:
        return math.inf
    if expr.is_Rational:  # a class attribute: integers and fractions skip sympy's assumption system
        return _log10_abs(expr)
    if expr.is_Number:
        return _log10_abs(expr) if expr.is_finite else 0.0
    if isinstance(expr, (mv.Sum, mv.Product)) and _series_size(expr) > MAX_RESULT_DIGITS:
        return math.inf
    if isinstance(expr, (Pow, factorial)):
        # An exponent (or factorial argument) beyond 10**5 is refused whatever the base.
        arg = expr.args[1] if isinstance(expr, Pow) else expr.args[0]
        arg_size = _log10_size(arg, depth + 1)
        if arg_size > math.log10(MAX_RESULT_DIGITS):
            return math.inf
        n = 10.0**arg_size
        if isinstance(expr, factorial):
            return n * math.log10(max(n, 1.0))
        return max(_log10_size(expr.args[0], depth + 1), 0.0) * n
    sizes = [_log10_size(arg, depth + 1) for arg in expr.args if isinstance(arg, mv.Basic)]
    if not sizes:
        return 0.0
    return max(sizes) + 1.0 if isinstance(expr, Add) else sum(max(x, 0.0) for x in sizes)


def _series_size(expr: Any) -> float:
    """Digits a Sum or Product handles when evaluated term by term: terms x digits of the largest term.

    0 when a bound is symbolic or infinite (sympy finds a closed form or stops there).
    """
    mv = _mv()
    terms, term = 1.0, expr.function
    for limit in expr.limits:
        if len(limit) != 3 or not (limit[1].is_number and limit[2].is_number):
            return 0.0
        if max(_log10_size(limit[1], 0), _log10_size(limit[2], 0)) > 6:
            return math.inf  # a bound past a million: too many terms whatever the other bound
        try:
            low, high = int(limit[1]), int(limit[2])
        except (TypeError, ValueError, OverflowError):
            return 0.0
        terms *= max(high - low + 1, 0)
        with mv.evaluate(False):  # k^k at k = 999 is estimated, not computed
            term = term.subs(limit[0], max(low, high, key=abs))
    return terms * max(_log10_size(term, 0), 1.0)


def _log10_abs(number: Any) -> float:
    try:
        if number.is_Rational:
            p = int(number.p)
            return math.log10(abs(p)) - math.log10(abs(int(number.q))) if p else -math.inf
        if number.is_zero:
            return -math.inf
        return math.log10(abs(float(number)))
    except (OverflowError, ValueError, TypeError):
        return math.inf


def _checked(parsed: list) -> tuple:
    return () if not parsed or _too_big(parsed) else tuple(parsed)


def _parse_gold_now(span: str) -> tuple:
    return _checked(_parse_span(span, _mv().gold_configs))


def _completion_answer_now(text: str) -> tuple[str | None, tuple]:
    """(answer text, parsed answer) of a completion; parsed is () when there is no usable answer."""
    span = locate_answer(text)
    if span is not None:
        return (None, ()) if refused(span) else (span, _checked(_parse_span(span, _mv().answer_configs)))
    # No <answer> and no \boxed{}: math-verify's own final-answer extraction, on the tail only.
    tail = text[-MAX_FREE_TAIL_CHARS:]
    if not tail.strip() or max_depth(tail) > MAX_BRACE_DEPTH:
        return None, ()
    found = _mv().parse(tail, list(_mv().default_configs), parsing_timeout=None)
    # math-verify appends the matched text after the parsed values (fallback_mode="first_match").
    strings = [x for x in found if isinstance(x, str)]
    return (strings[-1] if strings else None), _checked(found)


def _limited(timeout: float | None, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # Import math-verify (and sympy) before the clock starts: an import cut short by the
    # time limit would leave half-initialised modules behind for every later call.
    _mv()
    return call_with_time_limit(timeout, fn, *args, **kwargs)


_gold_cache: OrderedDict[str, Answer | None] = OrderedDict()


def parse_gold(gold: Any, *, timeout: float | None = DEFAULT_TIMEOUT) -> Answer | None:
    """Normalise and parse a gold answer; None if it cannot be parsed (or parsing timed out).

    Results are kept in a small per-process cache (timeouts are not cached).
    """
    span = gold_answer_text(gold)
    if span is None:
        return None
    if span in _gold_cache:
        _gold_cache.move_to_end(span)
        return _gold_cache[span]
    if refused(span) and (len(span) <= MAX_ANSWER_CHARS or max_depth(span) > MAX_BRACE_DEPTH):
        return None
    try:
        if refused(span):
            # A long worked solution with no \boxed{} and no "#### N": its final answer, found as a
            # completion's is (math-verify's final-answer extraction on the tail).
            found, parsed = _limited(timeout, _completion_answer_now, span)
            answer = Answer(found or "", parsed) if parsed else None
        else:
            parsed = _limited(timeout, _parse_gold_now, span)
            answer = Answer(span, parsed) if parsed else None
    except TimeLimitExceeded:
        return None
    _gold_cache[span] = answer
    if len(_gold_cache) > _GOLD_CACHE_SIZE:
        _gold_cache.popitem(last=False)
    return answer


# Each completion's answer is parsed once per process: the accuracy reward and `r1 eval`'s
# majority vote ask for the same completions in turn. Keyed by a digest of the text (completions
# can be megabytes); a parse cut short by the time limit is not remembered.
_answer_cache: OrderedDict[bytes, tuple[str | None, tuple]] = OrderedDict()
_ANSWER_CACHE_SIZE = 2_048


def _remembered_answer(text: str) -> tuple[str | None, tuple]:
    """(answer text, parsed answer) of a completion, parsed at most once; runs inside the caller's time limit
    (a parse cut short raises out of here before anything is remembered)."""
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    if key in _answer_cache:
        _answer_cache.move_to_end(key)
        return _answer_cache[key]
    found = _completion_answer_now(text)
    _answer_cache[key] = found
    if len(_answer_cache) > _ANSWER_CACHE_SIZE:
        _answer_cache.popitem(last=False)
    return found


def _completion_answer(text: str, timeout: float | None) -> tuple[str | None, tuple]:
    """(answer text, parsed answer) of a completion, remembered, under ``timeout``; raises TimeLimitExceeded."""
    return _limited(timeout, _remembered_answer, text)


def parse_answer(completion: Any, *, timeout: float | None = DEFAULT_TIMEOUT) -> Answer | None:
    """Extract and parse a completion's final answer; None if it has none (or parsing timed out)."""
    try:
        text, parsed = _completion_answer(completion_text(completion), timeout)
    except TimeLimitExceeded:
        return None
    return Answer(text or "", parsed) if parsed else None


def extract_answer(completion: Any, *, timeout: float | None = DEFAULT_TIMEOUT) -> str | None:
    """The final answer's text: ``<answer>`` content, else last ``\\boxed{}``, else math-verify's extraction.

    The first two rules are plain string work; only the third imports math-verify.
    """
    text = completion_text(completion)
    span = locate_answer(text)
    if span is not None:
        return None if refused(span) else span
    try:
        found, _ = _completion_answer(text, timeout)
    except TimeLimitExceeded:
        return None
    return found


def _parse_answer_text(text: str) -> tuple:
    return _checked(_parse_span(text, _mv().answer_configs))


def answers_equal(a: Answer | str, b: Answer | str, *, timeout: float | None = DEFAULT_TIMEOUT) -> bool | None:
    """Are two answers mathematically equal? ``a`` plays the gold's part (math-verify is not symmetric).

    Each may be an :class:`Answer` or answer text as :func:`extract_answer`
    returns it. None when either cannot be parsed or the comparison timed out.
    """
    parsed = []
    for value in (a, b):
        if isinstance(value, Answer):
            parsed.append(list(value.parsed))
            continue
        if not isinstance(value, str) or refused(value.strip()):
            return None
        try:
            found = _limited(timeout, _parse_answer_text, value.strip())
        except TimeLimitExceeded:
            return None
        if not found:
            return None
        parsed.append(list(found))
    try:
        return bool(_limited(timeout, _mv().verify, parsed[0], parsed[1], timeout_seconds=None))
    except TimeLimitExceeded:
        return None


def _integers_equal(gold: tuple, answer: tuple) -> bool | None:
    """math-verify's verdict for two plain integers, or None when the shortcut does not apply.

    For ``[Integer, text]`` against ``[Integer, text]`` math-verify compares the
    integers (and, when they differ, tries sympy's ``simplify`` on their
    difference, ~0.7 ms, which can only say "not equal"). Wrong answers are
    the common case in GRPO, so this matters.
    """
    if len(gold) == len(answer) == 2 and getattr(gold[0], "is_Integer", False) and getattr(answer[0], "is_Integer", False):
        return bool(gold[0] == answer[0])
    return None


def _same_answer(gold: Answer, parsed: tuple) -> bool:
    same = _integers_equal(gold.parsed, parsed)
    return bool(_mv().verify(list(gold.parsed), list(parsed), timeout_seconds=None)) if same is None else same


def verify_completion(gold: Answer, completion: Any, *, timeout: float | None = DEFAULT_TIMEOUT) -> float | None:
    """1.0 if the completion's answer equals ``gold``, 0.0 if not or if it has none, None on timeout.

    Parsing and comparing share one time limit of ``timeout`` seconds (one alarm per completion).
    """
    try:
        return _limited(timeout, _verify_now, gold, completion_text(completion))
    except TimeLimitExceeded:
        return None


def _verify_now(gold: Answer, text: str) -> float:
    _, parsed = _remembered_answer(text)
    return 1.0 if parsed and _same_answer(gold, parsed) else 0.0
