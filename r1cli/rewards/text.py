"""Turning what a reward receives into plain text and lengths.

TRL hands rewards either strings (standard datasets) or chat messages
(conversational datasets: ``[{"role": "assistant", "content": ...}]``). Every
reward goes through :func:`completion_text`, so both shapes work everywhere.
"""

from __future__ import annotations

import re
from typing import Any, Sequence


def completion_text(completion: Any) -> str:
    """The text to score: a string as is; for messages, the last assistant message.

    Content given as parts (``[{"type": "text", "text": ...}]``) is joined;
    ``None`` becomes ``""``. A message list without an assistant message falls
    back to its last message.
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return _content_text(completion.get("content"))
    if isinstance(completion, (list, tuple)):
        messages = [m for m in completion if isinstance(m, dict)]
        if not messages:
            return "".join(x for x in completion if isinstance(x, str))
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"]
        return _content_text((assistant or messages)[-1].get("content"))
    return str(completion)


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return str(content)


def texts(completions: Sequence[Any]) -> list[str]:
    return [completion_text(c) for c in completions]


def lengths(completions: Sequence[Any], completion_ids: Sequence[Any] | None) -> list[int]:
    """Lengths in tokens when ``completion_ids`` are given, else in characters."""
    if completion_ids is not None and len(completion_ids) == len(completions):
        return [len(ids) if ids is not None else len(completion_text(c)) for ids, c in zip(completion_ids, completions)]
    return [len(completion_text(c)) for c in completions]


# CJK characters are words of their own (Chinese has no spaces); other words split on whitespace.
_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\s\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def words(text: str) -> list[str]:
    """Lower-cased words; each CJK character counts as one word."""
    return _WORD.findall(text.lower())


def per_completion(values: Any, name: str, n: int) -> list:
    """``values`` as one value per completion (a single value is repeated)."""
    from r1cli.errors import RewardError

    if values is None or isinstance(values, (str, bytes, int, float)) or not hasattr(values, "__len__"):
        return [values] * n
    if len(values) != n:
        raise RewardError(f"got {len(values)} values of {name!r} for {n} completions")
    return list(values)
