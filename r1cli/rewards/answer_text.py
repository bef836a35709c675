"""Finding the answer in a completion or a gold, as text: pure string work, no math-verify.

Used by the ``accuracy`` reward (:mod:`r1cli.rewards.accuracy`), by answer
parsing (:mod:`r1cli.rewards.math_answers`) and by ``r1 eval`` (what it shows
as the gold's answer). Every function here is linear in its input, so hostile
completions (thousands of ``\\boxed{``, unbalanced braces) stay cheap.
"""

from __future__ import annotations

import re
from typing import Any

# An "answer" longer than this is not an answer: refuse it before any parsing.
MAX_ANSWER_CHARS = 1_000
# Deeper brace nesting than this (e.g. 200 nested \frac) is refused before parsing.
MAX_BRACE_DEPTH = 40
# Only the end of a completion is searched for \boxed{} or a free-form final answer.
MAX_SCAN_CHARS = 50_000

# LaTeX that is not prose: \text{...}-like wrappers, environment names (\begin{pmatrix}), any other command.
LATEX_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname|begin|end)\s*\{[^{}]*\}|\\[a-zA-Z]+")
PROSE_WORD = re.compile(r"[^\W\d_]{3,}")


_ANSWER_BLOCK = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_BOX_TOKENS = re.compile(r"\\(?:boxed|fbox)\s*\{|\\[{}]|[{}]")
_GSM8K = re.compile(r"####\s*(.*)", re.DOTALL)
_NUMBER_COMMAS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


# Between two boxes of one answer ("\\boxed{2} and \\boxed{-3}", "$\\boxed{1}$, $\\boxed{4}$",
# "\\boxed{a} \\quad \\text{and} \\quad \\boxed{b}"), as Math-Verify joins them.
# Filler around the joiner: spaces, math delimiters and LaTeX spacing (\quad, \qquad, \, \; \ ).
_FILL = r"(?:\s|\$|\\[()\[\]]|\\q?quad\b|\\[,;: ])*"
_BOX_JOINER = re.compile(
    rf"{_FILL}(?:,?\s*(?:and|or)|,|\\text\s*\{{\s*,?\s*(?:and|or)\s*\}})(?:{_FILL}|,)*")
MAX_JOINED_BOXES = 6


def _boxes(text: str) -> list[tuple[int, int, int]]:
    """(box start, content start, content end) of every complete ``\\boxed{...}``/``\\fbox{...}`` not inside another.

    One linear pass over the braces, so thousands of ``\\boxed{`` or unbalanced
    braces cost no more than reading the text once.
    """
    stack: list[tuple[int, int]] = []  # (box start, content start) for \boxed{, (-1, -1) for a plain {
    found: list[tuple[int, int, int]] = []
    for m in _BOX_TOKENS.finditer(text):
        token = m.group()
        if token[0] == "\\" and len(token) == 2:  # \{ or \}: a literal brace in LaTeX
            continue
        if token == "}":
            if stack:
                box, start = stack.pop()
                if start >= 0 and not any(s >= 0 for _, s in stack):
                    found.append((box, start, m.start()))
        elif token == "{":
            stack.append((-1, -1))
        else:
            stack.append((m.start(), m.end()))
    return found


def last_boxed(text: str) -> str | None:
    """The final boxed answer: the last complete ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced; None if none.

    Boxes written as one answer just before it ("\\boxed{2} and \\boxed{-3}", joined by a comma,
    "and" or "or", up to six) count with it, joined by commas ("2, -3": a set), as Math-Verify reads
    them; boxes elsewhere in the text (intermediate results) do not.
    """
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    text = text[-MAX_SCAN_CHARS:]
    boxes = _boxes(text)
    if not boxes:
        return None
    group = [boxes[-1]]
    for previous in reversed(boxes[:-1]):
        if len(group) >= MAX_JOINED_BOXES or not _BOX_JOINER.fullmatch(text[previous[2] + 1 : group[-1][0]]):
            break
        group.append(previous)
    return ", ".join(text[start:end].strip() for _, start, end in reversed(group))


def _answer_block(text: str) -> str | None:
    blocks = _ANSWER_BLOCK.findall(text)
    return blocks[-1].strip() if blocks else None


def _gsm8k_answer(text: str) -> str | None:
    # GSM8K's own final-answer line, "#### 1,234": thousands separators, a leading $
    # and a trailing period dropped.
    tail = _GSM8K.findall(text[-MAX_SCAN_CHARS:])
    if not tail:
        return None
    answer = _NUMBER_COMMAS.sub("", tail[-1].strip()).lstrip("$").rstrip(".").strip()
    return answer or None


def locate_answer(text: str) -> str | None:
    """The answer span found without math-verify, or None.

    The ``<answer>`` block (its last ``\\boxed{}`` if any), else the last
    ``\\boxed{}``, else a GSM8K-style ``#### N`` final line, else the whole
    text when it is a bare answer (no words, just mathematics).
    """
    block = _answer_block(text)
    if block is not None:
        boxed = last_boxed(block)
        return boxed if boxed is not None else block
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    if "####" in text:
        return _gsm8k_answer(text)
    # A completion that is nothing but an answer ("18", "\\frac{14}{3}"): the whole text.
    bare = text.strip()
    if bare and len(bare) <= MAX_ANSWER_CHARS and not PROSE_WORD.search(LATEX_TEXT.sub(" ", bare)):
        return bare
    return None


def gold_answer_text(gold: Any) -> str | None:
    """The answer inside a gold, as text: GSM8K's ``#### N``, a worked solution's last ``\\boxed{}``, or the gold itself."""
    if isinstance(gold, bool) or gold is None:
        return None
    if isinstance(gold, (int, float)):
        return repr(gold) if isinstance(gold, float) else str(gold)
    if not isinstance(gold, str):
        return None
    text = gold.strip()
    if not text:
        return None
    if "####" in text:
        return _gsm8k_answer(text)
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed or None
    return text


def max_depth(text: str) -> int:
    """The deepest nesting of braces and parentheses in ``text``."""
    depth = deepest = 0
    for ch in text:
        if ch in "{(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "})" and depth:
            depth -= 1
    return deepest


def refused(span: str) -> bool:
    """True for a span too long or too deeply nested to be an answer (refused before any parsing)."""
    return not span or len(span) > MAX_ANSWER_CHARS or max_depth(span) > MAX_BRACE_DEPTH


_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
_NUMBER_WORD = re.compile(r"[a-z]+")


def number_from_words(text: str) -> int | None:
    """An integer written in English words ("forty two", "one hundred and five", "minus three"), else None.

    Only whole phrases made of number words count: "two apples" or "the answer is two" are not numbers.
    """
    words = _NUMBER_WORD.findall(text.lower())
    if not words or len(words) > 20 or re.sub(r"[a-z\s\-,.]", "", text.lower()):
        return None
    sign = -1 if words[0] in ("minus", "negative") else 1
    words = words[1:] if sign < 0 else words
    total = current = 0
    seen = False
    for word in words:
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred" and seen:
            current *= 100
        elif word in _SCALES and seen:
            total += current * _SCALES[word]
            current = 0
        elif word == "and" and seen:
            continue
        else:
            return None
        seen = True
    return sign * (total + current) if seen else None

