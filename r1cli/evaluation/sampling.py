"""How r1's decoding loop chooses the next token, and which generation settings it reproduces.

:class:`Sampling` is greedy (``temperature == 0``) or sampled through transformers' own
processors, in ``generate``'s order; :func:`sampling_from_config` resolves a ``GenerationConfig``
as ``generate`` does (the call's values, then the model's ``generation_config`` where the call
leaves one unset, then transformers' global defaults) and returns None when any resolved value
is one the loop does not reproduce: then ``model.generate`` runs instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# GenerationConfig attributes the loop reproduces (or that only shape what generate() returns); any other attribute
# that differs from transformers' default changes what generate() does, so such a configuration goes to generate().
_UNDERSTOOD = frozenset({
    "max_new_tokens", "max_length", "do_sample", "temperature", "top_k", "top_p", "min_p", "repetition_penalty",
    "pad_token_id", "bos_token_id", "eos_token_id", "use_cache", "cache_implementation", "disable_compile",
    "transformers_version", "_from_model_config", "return_dict_in_generate", "output_scores", "output_logits",
    "output_attentions", "output_hidden_states", "num_return_sequences",
})
# cache_implementation values that only change where generate() keeps the cache, not the tokens
# (quantized and offloaded caches are memory choices the loop does not make: generate() keeps them).
_SAME_TOKENS_CACHES = (None, "dynamic", "static")


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen: greedy (``temperature == 0``, the default) or sampled, through
    transformers' processors. ``top_k=0`` is off (``generate`` would fill an unset top_k with 50:
    :func:`sampling_from_config` resolves that)."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    min_p: float | None = None
    repetition_penalty: float = 1.0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def processors(self):
        """transformers' processors, in generate()'s order: repetition penalty, then (sampling) temperature,
        top-k, top-p, min-p."""
        from transformers.generation.logits_process import (
            LogitsProcessorList,
            MinPLogitsWarper,
            RepetitionPenaltyLogitsProcessor,
            TemperatureLogitsWarper,
            TopKLogitsWarper,
            TopPLogitsWarper,
        )

        processors = LogitsProcessorList()
        if self.repetition_penalty != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(penalty=self.repetition_penalty))
        if self.greedy:
            return processors
        if self.temperature != 1.0:
            processors.append(TemperatureLogitsWarper(self.temperature))
        if self.top_k:
            processors.append(TopKLogitsWarper(top_k=self.top_k))
        if self.top_p < 1.0:
            processors.append(TopPLogitsWarper(top_p=self.top_p))
        if self.min_p is not None:
            processors.append(MinPLogitsWarper(min_p=self.min_p))
        return processors


def sampling_from_config(config, model_config=None) -> Sampling | None:
    """The :class:`Sampling` ``model.generate(generation_config=config)`` would use, or None.

    As ``generate`` resolves it: ``config``'s values, then the model's ``generation_config`` where
    ``config`` leaves a value unset (None), then transformers' global defaults. None means some
    resolved value is one this loop does not reproduce (beams, a minimum length, bad words, ...):
    use ``generate``.
    """
    from transformers import GenerationConfig

    defaults = GenerationConfig().to_dict()
    defaults.update(getattr(GenerationConfig, "_get_default_generation_params", dict)())
    resolved = dict(config.to_dict())
    for source in (model_config.to_dict() if model_config is not None else {}, defaults):
        for name, value in source.items():
            if resolved.get(name) is None:
                resolved[name] = value
    for name, value in resolved.items():
        default = defaults.get(name)
        if name not in _UNDERSTOOD and value != default and not (_unset(value) and _unset(default)):
            return None
    if resolved.get("num_return_sequences") not in (1, None) or resolved.get("use_cache") is False:
        return None
    if resolved.get("cache_implementation") not in _SAME_TOKENS_CACHES:
        return None
    penalty = float(resolved.get("repetition_penalty") or 1.0)
    if not resolved.get("do_sample"):
        return Sampling(repetition_penalty=penalty)
    temperature = resolved.get("temperature")
    if temperature is None or temperature <= 0:
        return None  # generate() rejects it or warns; let it say so
    return Sampling(temperature=float(temperature), top_k=int(resolved.get("top_k") or 0),
                    top_p=float(1.0 if resolved.get("top_p") is None else resolved["top_p"]),
                    min_p=resolved.get("min_p"), repetition_penalty=penalty)


def _unset(value) -> bool:
    return value is None or value is False or (not isinstance(value, float) and value == 0) or value in ({}, [], ())


def tokens_so_far(prompts: Sequence[Sequence[int]], sampling: Sampling, device):
    """The tokens so far, for processors that read them (only the repetition penalty does).

    Each row is its own prompt, left-filled with its own first token: the penalty gathers and
    scatters scores at these ids, so a repeated id changes nothing and a row sees only its own
    tokens, as ``generate`` on that prompt alone (a padded ``generate`` batch also penalises the
    pad token in rows that have padding)."""
    import torch

    if sampling.repetition_penalty == 1.0:
        return torch.empty((len(prompts), 0), dtype=torch.long, device=device)
    width = max(len(p) for p in prompts)
    rows = [[p[0]] * (width - len(p)) + list(p) for p in prompts]
    return torch.tensor(rows, dtype=torch.long, device=device)


def stop_ids_from_config(config, model_config=None) -> set[int]:
    """The token ids ``generate`` stops on for this config: its ``eos_token_id``, else the model's."""
    value = config.eos_token_id
    if value is None and model_config is not None:
        value = model_config.eos_token_id
    if value is None:
        return set()
    return {int(value)} if isinstance(value, int) else {int(v) for v in value}
