"""Reasoning-style rewards: ``reasoning_steps`` and ``mathematical_rigor``, in English and Chinese.

Both are heuristics over surface text. They can be gamed: a model can learn to
write "Step 1", "therefore" and "let us verify" around a wrong answer. Weight
them low next to ``accuracy``, and use ``r1 score`` (correlation with accuracy,
the "high rigor but wrong answer" flag) to check that they still track
correctness on your completions.
"""

from __future__ import annotations

import re
from typing import Any

from r1cli.rewards.registry import Param, register_reward
from r1cli.rewards.text import texts

# Surface heuristics read at most this much of a completion: enough for any real
# reasoning, and it keeps a megabyte of garbage from costing more than a few ms.
MAX_CHARS = 100_000

# Step indicators: capitalised (sentence-initial) English words, "Step 1", numbered and
# bulleted lines, and Chinese ordinals. Lower-case "then"/"first" are too common mid-sentence.
_STEP_PATTERNS = [
    r"\bStep\s*\d+",
    r"\b(?:First|Second|Third|Fourth|Fifth|Next|Then|Finally|Lastly)\b",
    r"^[ \t]*\d+[.)][ \t]",
    r"^[ \t]*[-*•][ \t]",
    r"首先|其次|然后|接着|接下来|最后|第[一二三四五六七八九十\d]+步",
]
_CONNECTIVE_PATTERNS = [
    r"\b(?:therefore|because|thus|hence|so|since|consequently)\b",
    r"因此|所以|因为|由于|于是|从而",
]
_STEPS = re.compile("|".join(f"(?:{p})" for p in _STEP_PATTERNS), re.MULTILINE)
_CONNECTIVES = re.compile("|".join(f"(?:{p})" for p in _CONNECTIVE_PATTERNS), re.IGNORECASE)


def count_steps(text: str) -> int:
    """Step indicators plus logical connectives in ``text``."""
    text = text[:MAX_CHARS]
    return len(_STEPS.findall(text)) + len(_CONNECTIVES.findall(text))


@register_reward(
    "reasoning_steps",
    range=(0.0, 1.0),
    description="Step indicators and logical connectives (English and Chinese), saturating at `saturate_at`; a gameable heuristic.",
    params={"saturate_at": Param("Count of indicators at which the score reaches 1.0.", ge=1)},
)
def reasoning_steps(completions: list, *, saturate_at: int = 3, **kwargs: Any) -> list[float]:
    """min(1, indicators / saturate_at) where indicators are steps (Step 1, First, numbered lines, 首先 ...) and connectives (therefore, 因此 ...)."""
    return [min(1.0, count_steps(text) / saturate_at) for text in texts(completions)]


_TERMS = re.compile(
    r"\b(?:equation|solve|solution|substitut\w*|simplif\w*|factor\w*|expand\w*|derivative|integral|"
    r"theorem|lemma|proof|prove|prime|divisib\w*|modulo|remainder|multiple|fraction|denominator|"
    r"numerator|polynomial|root|coefficient|variable|function|sum|product|quotient|probability|"
    r"area|volume|perimeter|angle|triangle|radius|sequence|inequality|square|cube|exponent|logarithm)\b"
    r"|方程|求解|解得|代入|化简|因式|展开|导数|积分|定理|引理|证明|质数|素数|整除|余数|倍数|分数|分母|分子|"
    r"多项式|系数|变量|函数|概率|面积|体积|周长|角度|三角形|半径|数列|不等式|平方|立方|指数|对数",
    re.IGNORECASE,
)
_SYMBOLS = re.compile(r"\\(?:frac|sqrt|cdot|times|div|le|ge|leq|geq|neq|pm|sum|prod|int|pi|infty|log|ln)\b|[=+×÷√≤≥≠±^²³∑∫π]")
# An equation written out: an "=" (not ==, <=, >=, !=) with an operand on each side: "2x + 3 = 7", "x=2".
_EQUATION = re.compile(r"[\w)\]}]\s*=(?!=)\s*[-\w(\\{]")
_LOGIC = re.compile(
    r"\b(?:therefore|thus|hence|since|because|implies|it follows|consequently|so that|which means)\b|⇒|=>|\\implies|\\therefore"
    r"|因此|所以|因为|由于|从而|可得|推出",
    re.IGNORECASE,
)
_VERIFY = re.compile(
    r"\b(?:check(?:ing)?|verif(?:y|ying|ied|ication)|double[- ]check|plug(?:ging)? (?:it |this |\w+ )?back|"
    r"substitut\w* back|sanity check|confirm(?:s|ed|ing)?)\b|验证|检验|检查|代回|验算",
    re.IGNORECASE,
)


def rigor_parts(text: str, saturate_terms: int = 5, saturate_equations: int = 3) -> dict[str, float]:
    """The four parts of ``mathematical_rigor``, each in [0, 1]."""
    text = text[:MAX_CHARS]
    vocabulary = {m.lower() for m in _TERMS.findall(text)} | set(_SYMBOLS.findall(text))
    return {
        "terms": min(1.0, len(vocabulary) / saturate_terms),
        "equations": min(1.0, len(_EQUATION.findall(text)) / saturate_equations),
        "logic": min(1.0, len(_LOGIC.findall(text)) / 2),
        "verification": 1.0 if _VERIFY.search(text) else 0.0,
    }


@register_reward(
    "mathematical_rigor",
    range=(0.0, 1.0),
    description="Heuristic (gameable): math vocabulary and symbols, written-out equations, logical structure, a verification step.",
    params={
        "saturate_terms": Param("Distinct math terms and symbols that earn the full vocabulary part.", ge=1),
        "saturate_equations": Param("Written-out equations that earn the full equations part.", ge=1),
    },
)
def mathematical_rigor(
    completions: list, *, saturate_terms: int = 5, saturate_equations: int = 3, **kwargs: Any
) -> list[float]:
    """Mean of four parts: vocabulary (terms and symbols), equations, logical connectives (2 saturate), verification.

    A heuristic over surface text that can be gamed; it says nothing about
    whether the mathematics is right. Check its correlation with ``accuracy``.
    """
    scores = []
    for text in texts(completions):
        parts = rigor_parts(text, saturate_terms, saturate_equations)
        scores.append(sum(parts.values()) / len(parts))
    return scores
