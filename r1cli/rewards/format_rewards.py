"""Structure rewards: ``format`` (the ``<think>...</think><answer>...</answer>`` layout) and ``tag_count``.

``format`` is graded so that a model gets signal before it has the whole layout
right; ``strict=True`` gives open-r1's binary regex instead. ``tag_count`` is
open-r1's partial credit per tag, without its newline requirements, and with a
penalty for extra copies (repeating tags is a cheap way to game tag rewards).
"""

from __future__ import annotations

import re
from typing import Any

from r1cli.rewards.registry import Param, register_reward
from r1cli.rewards.text import texts

TAGS = ("<think>", "</think>", "<answer>", "</answer>")
# open-r1's format_reward pattern, flags included.
_STRICT = re.compile(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$", re.DOTALL | re.MULTILINE)
_SEGMENT_SPLIT = re.compile(r"\n\s*\n|\n")


def _block(text: str, open_tag: str, close_tag: str) -> tuple[int, int] | None:
    """(start, end) of the block if each tag occurs exactly once, in order, around non-blank content."""
    if text.count(open_tag) != 1 or text.count(close_tag) != 1:
        return None
    start, end = text.index(open_tag), text.index(close_tag)
    if end < start or not text[start + len(open_tag) : end].strip():
        return None
    return start, end + len(close_tag)


def segments(thought: str) -> int:
    """Non-blank lines (or paragraphs) of reasoning."""
    return sum(1 for part in _SEGMENT_SPLIT.split(thought) if part.strip())


def format_score(text: str, segment_weight: float = 0.2, min_segments: int = 2) -> float:
    """Graded layout score in [0, 1]; see :func:`format_reward` for the parts."""
    think = _block(text, "<think>", "</think>")
    answer = _block(text, "<answer>", "</answer>")
    ordered = think is not None and answer is not None and think[1] <= answer[0]
    clean = ordered and not (text[: think[0]] + text[think[1] : answer[0]] + text[answer[1] :]).strip()
    structure = (bool(think) + bool(answer) + ordered + clean) / 4
    segmented = 0.0
    if think is not None:
        count = segments(text[think[0] + len("<think>") : think[1] - len("</think>")])
        segmented = 1.0 if min_segments <= 1 else min(1.0, max(0, count - 1) / (min_segments - 1))
    return (1 - segment_weight) * structure + segment_weight * segmented


@register_reward(
    "format",
    range=(0.0, 1.0),
    description="Graded score for <think>...</think><answer>...</answer>: blocks present once, in order, non-empty, nothing outside; part for multi-line reasoning.",
    params={
        "strict": Param("Binary open-r1 behaviour: 1.0 only for ^<think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>$."),
        "segment_weight": Param("Share of the score given for segmented reasoning inside <think>.", ge=0, le=1),
        "min_segments": Param("Lines or paragraphs inside <think> that earn the full segmentation share.", ge=1),
    },
)
def format_reward(
    completions: list, *, strict: bool = False, segment_weight: float = 0.2, min_segments: int = 2, **kwargs: Any
) -> list[float]:
    """Score the <think>/<answer> layout.

    Four equal parts make up ``1 - segment_weight``: a ``<think>`` block and an
    ``<answer>`` block (each tag exactly once, content not blank), the think
    block before the answer block, and nothing but whitespace outside them.
    ``segment_weight`` rewards reasoning split over lines or paragraphs:
    none for one line, full from ``min_segments``, linear in between.
    """
    if strict:
        return [1.0 if _STRICT.match(text) else 0.0 for text in texts(completions)]
    return [format_score(text, segment_weight, min_segments) for text in texts(completions)]


@register_reward(
    "tag_count",
    range=(0.0, 1.0),
    description="0.25 for each of <think>, </think>, <answer>, </answer> present exactly once; extra copies are penalised.",
    params={"extra_penalty": Param("Subtracted for every copy of a tag beyond the first.", ge=0)},
)
def tag_count(completions: list, *, extra_penalty: float = 0.1, **kwargs: Any) -> list[float]:
    """0.25 per tag present exactly once, minus ``extra_penalty`` per extra copy, floored at 0."""
    scores = []
    for text in texts(completions):
        counts = [text.count(tag) for tag in TAGS]
        score = 0.25 * sum(c == 1 for c in counts) - extra_penalty * sum(max(c - 1, 0) for c in counts)
        scores.append(max(0.0, score))
    return scores
