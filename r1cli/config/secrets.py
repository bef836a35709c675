"""Keeping secrets out of everything r1 writes (resolved configs, logs, reports).

A key is secret when a word of its name says so (``hub_token``, ``wandb_api_key``,
``db_password``, ``secret_name``, ``HF_TOKEN``...). Plural words name counts and
collections, not credentials (``average_tokens_across_devices``), and tokenizer
special tokens such as ``pad_token`` are not secrets either. A value is also
secret when it looks like a Hugging Face, W&B or OpenAI-style credential,
whatever its key.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
_SECRET_WORDS = {"token", "secret", "password", "passwd", "passphrase", "key", "apikey", "credential", "credentials"}
_NOT_SECRET = {"pad_token", "eos_token", "bos_token", "unk_token", "sep_token", "cls_token", "mask_token",
               "dataset_text_field", "reward_key"}
_SECRET_VALUE = re.compile(r"^(hf_[A-Za-z0-9]{20,}|[0-9a-f]{40}|sk-[A-Za-z0-9_-]{20,})$")
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _words(name: str) -> set[str]:
    # snake_case, kebab-case, dotted and camelCase names alike: "hubToken" -> {hub, token}.
    return {w.lower() for w in _WORD.findall(name)}


def is_secret(name: str, value: Any = None) -> bool:
    if name.lower() in _NOT_SECRET:
        return False
    by_name = bool(_words(name) & _SECRET_WORDS) and not isinstance(value, bool)  # a flag is never a credential
    return by_name or (isinstance(value, str) and bool(_SECRET_VALUE.match(value.strip())))


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


def secret_values(values: Any, name: str = "") -> set[str]:
    """The string values :func:`redact` hides in ``values``: what no file r1 writes may contain."""
    found: set[str] = set()
    if isinstance(values, dict):
        for key, value in values.items():
            if isinstance(value, (dict, list)):
                found |= secret_values(value, str(key))
            elif isinstance(value, str) and value.strip() and is_secret(str(key), value):
                found.add(value)
    elif isinstance(values, list):
        for value in values:
            found |= secret_values(value, name)
    elif isinstance(values, str) and _SECRET_VALUE.match(values.strip()):
        found.add(values)
    return {value for value in found if len(value) >= 4}  # a 1-3 character "secret" would scrub common text
