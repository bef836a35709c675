"""Keeping secrets out of everything r1 writes (resolved configs, logs, reports).

A key is secret when its name says so (``hub_token``, ``wandb_api_key``,
``password``...) -- tokenizer special tokens such as ``pad_token`` are not --
or when its value looks like a Hugging Face or W&B credential.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
_SECRET_NAME = re.compile(r"(^|_)(token|secret|password|passwd|api_key|apikey|key)s?$", re.I)
_NOT_SECRET = {"pad_token", "eos_token", "bos_token", "unk_token", "sep_token", "cls_token", "mask_token",
               "dataset_text_field", "reward_key"}
_SECRET_VALUE = re.compile(r"^(hf_[A-Za-z0-9]{20,}|[0-9a-f]{40}|sk-[A-Za-z0-9_-]{20,})$")


def is_secret(name: str, value: Any = None) -> bool:
    if name.lower() in _NOT_SECRET:
        return False
    return bool(_SECRET_NAME.search(name)) or (isinstance(value, str) and bool(_SECRET_VALUE.match(value.strip())))


def redact(values: Any, name: str = "") -> Any:
    """A copy of ``values`` (nested dicts and lists too) with secret values replaced."""
    if isinstance(values, dict):
        return {k: (REDACTED if is_secret(str(k), v) and v not in (None, "") and not isinstance(v, (dict, list))
                    else redact(v, str(k))) for k, v in values.items()}
    if isinstance(values, list):
        return [redact(v, name) for v in values]
    if isinstance(values, str) and _SECRET_VALUE.match(values.strip()):
        return REDACTED
    return values
