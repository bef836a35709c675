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

LATEX_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname)\s*\{[^{}]*\}|\\[a-zA-Z]+")
PROSE_WORD = re.compile(r"[^\W\d_]{3,}")


_ANSWER_BLOCK = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_BOX_TOKENS = re.compile(r"\\(?:boxed|fbox)\s*\{|\\[{}]|[{}]")
_GSM8K = re.compile(r"####\s*(.*)", re.DOTALL)
_NUMBER_COMMAS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def last_boxed(text: str) -> str | None:
    """Content of the last complete ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced; None if none.

    One linear pass over the braces, so thousands of ``\\boxed{`` or unbalanced
    braces cost no more than reading the text once.
    """
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    text = text[-MAX_SCAN_CHARS:]
    stack: list[int] = []  # content start for \boxed{, -1 for a plain {
    found: tuple[int, int] | None = None
    for m in _BOX_TOKENS.finditer(text):
        token = m.group()
        if token[0] == "\\" and len(token) == 2:  # \{ or \}: a literal brace in LaTeX
            continue
        if token == "}":
            if stack:
                start = stack.pop()
                if start >= 0:
                    found = (start, m.start())
        elif token == "{":
            stack.append(-1)
        else:
            stack.append(m.end())
    return None if found is None else text[found[0] : found[1]].strip()


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
