"""r1's decoding loop: the same tokens as ``model.generate``, with less work on a CPU.

``generate`` in transformers computes every row of a batch the whole way: a prompt
repeated K times (K samples, or GRPO's K generations per prompt) is prefilled K
times, every prompt is padded to the longest, the system prompt and chat-template
header that all prompts share is recomputed for each, and a row that has stopped
keeps being computed until the longest one stops. On a CPU, where time is FLOPs,
that is most of a generation (``bench/bench_roofline.py`` measures it). This loop
computes the same thing without that work:

* identical prompts are prefilled once and their KV cache rows copied;
* the token prefix every distinct prompt shares is prefilled once, at batch 1;
* the rest of each prompt is prefilled in groups of similar length (little padding);
* rows are dropped from the batch as they stop;
* LoRA adapters compute merged into their base weights, where that is the same function
  (:mod:`r1cli.models.lora_merge`: not while an adapter's dropout is active).

Each row's tokens are the same function of its own prompt as in ``generate``:
the attention mask hides padding, positions count real tokens only, and the
logits go through transformers' own warpers (temperature, top-k, top-p, min-p) in
``generate``'s order before ``softmax`` and a draw (sampling, :func:`draw`) or ``argmax``
(greedy). Batch shapes differ, so floating-point sums can differ in the last bits:
greedy output can differ only where two tokens' logits tie to that precision, and
sampling draws from the same distribution (not the same random stream: :func:`draw`
inverts the cumulative distribution where ``generate``'s ``multinomial`` races exponentials).

:func:`decode` chooses tokens as a :class:`~r1cli.evaluation.sampling.Sampling` says;
``sampling.sampling_from_config`` reads one from a ``GenerationConfig`` and says when a
configuration asks for something the loop does not reproduce (beams, a minimum length, ...).
That, a model whose cache is not transformers' plain ``DynamicCache``, and an encoder-decoder
model are for ``model.generate``: callers check :func:`supports` and ``sampling_from_config`` first.
"""

from __future__ import annotations

import copy
import functools
import inspect
from typing import Any, Sequence

from r1cli.evaluation.sampling import Sampling, tokens_so_far
from r1cli.models.loading import is_prompt_learning
from r1cli.models.lora_merge import merged_lora

# Rows are dropped from the decode batch once this share of it has stopped (dropping copies the cache).
_COMPACT_SHARE = 0.125
# A prefill group grows while padding stays under this share of its real tokens.
_PREFILL_PADDING = 0.1
# Cache positions reserved for new tokens up front; the room doubles when a generation runs past it.
_RESERVE = 128


def supports(model) -> bool:
    """Whether the loop can drive this model: a decoder-only model whose cache is transformers' DynamicCache
    (not a PEFT prompt-learning model, whose virtual tokens the loop does not lay out)."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "is_encoder_decoder", False):
        return False
    if is_prompt_learning(model):
        return False
    try:
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        layers = DynamicCache(config=config).layers
    except Exception:  # an exotic config the cache cannot be built from: generate() knows the model
        return False
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def decode(
    model,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    sampling: Sampling,
    stop_ids: set[int],
    pad_id: int | None,
) -> list[list[int]]:
    """Completions for ``prompts`` (token ids, one row each; repeats allowed), in input order.

    Each completion is its new tokens up to and including the first stop token, or
    ``max_new_tokens`` tokens. Callers check :func:`supports` and
    ``sampling.sampling_from_config`` first. Runs without gradients (as ``generate``), in
    the model's train/eval mode as the caller left it (GRPO generates in the mode TRL
    would). ``pad_id`` is what a stopped row is fed until it leaves the batch (its output
    is discarded); None takes a stop token. Randomness comes from torch's global
    generator, as in ``generate``.
    """
    import torch

    if max_new_tokens < 1:
        raise ValueError("max_new_tokens must be at least 1")
    if not prompts:
        return []
    if any(len(p) == 0 for p in prompts):
        raise ValueError("every prompt needs at least one token")
    device = next(model.parameters()).device
    distinct: dict[tuple[int, ...], int] = {}
    row_of = [distinct.setdefault(tuple(p), len(distinct)) for p in prompts]
    unique = list(distinct)

    if pad_id is None:
        pad_id = min(stop_ids) if stop_ids else 0
    with torch.no_grad(), merged_lora(model):
        state = _prefill(model, unique, device)
        # One decode row per input prompt: duplicates share their prompt's prefilled cache row.
        state.select(torch.tensor(row_of, device=device))
        state.reserve(min(max_new_tokens, _RESERVE))
        return _decode_rows(model, state, prompts, max_new_tokens, sampling, stop_ids, pad_id)


class _Batch:
    """The decode batch: its cache, attention mask, next positions and last logits, row by row."""

    def __init__(self, cache, mask, positions, logits):
        self.cache, self.mask, self.positions, self.logits = cache, mask, positions, logits

    def select(self, rows) -> None:
        for layer in self.cache.layers:
            layer.batch_select_indices(rows)
        self.mask = self.mask.index_select(0, rows)
        self.positions = self.positions.index_select(0, rows)
        self.logits = self.logits.index_select(0, rows)

    def reserve(self, columns: int) -> None:
        """Give every cache layer room for ``columns`` more positions, written in place from now on."""
        self.cache.layers = [_reserved(layer, columns) for layer in self.cache.layers]


def _reserved(layer, columns: int):
    """A cache layer holding ``layer``'s keys and values, with room for ``columns`` more positions."""
    return _reserved_layer_class()(layer.keys, layer.values, columns)


@functools.cache
def _reserved_layer_class():
    from transformers.cache_utils import DynamicLayer

    class ReservedLayer(DynamicLayer):
        """A DynamicLayer whose keys/values live in buffers with room to grow.

        ``DynamicLayer.update`` concatenates, copying the whole cache at every decode step (a
        sixth of a step's time on a CPU); this writes the new position into the spare room and
        doubles the room when it runs out. ``keys``/``values`` stay views of the filled part, so
        everything that reads them is unchanged. Dropping rows compacts the filled part in place.
        """

        def __init__(self, keys, values, room: int):
            super().__init__()
            self.device, self.dtype, self.is_initialized = keys.device, keys.dtype, True
            self.filled = keys.shape[-2]
            self._key_buffer = self._value_buffer = None
            self._move(keys, values, self.filled + room)

        def _move(self, keys, values, capacity: int) -> None:
            import torch

            shape = (*keys.shape[:-2], capacity, keys.shape[-1])
            key_buffer = torch.empty(shape, dtype=keys.dtype, device=keys.device)
            value_buffer = torch.empty((*shape[:-1], values.shape[-1]), dtype=values.dtype, device=values.device)
            key_buffer[..., : self.filled, :] = keys
            value_buffer[..., : self.filled, :] = values
            self._key_buffer, self._value_buffer = key_buffer, value_buffer
            self._view()

        def _view(self) -> None:
            self.keys = self._key_buffer[..., : self.filled, :]
            self.values = self._value_buffer[..., : self.filled, :]

        def update(self, key_states, value_states, *args, **kwargs):
            end = self.filled + key_states.shape[-2]
            capacity = self._key_buffer.shape[-2]
            if end > capacity:
                self._move(self.keys, self.values, max(end, 2 * capacity))
            self._key_buffer[..., self.filled : end, :] = key_states
            self._value_buffer[..., self.filled : end, :] = value_states
            self.filled = end
            self._view()
            return self.keys, self.values

        def batch_select_indices(self, indices) -> None:
            """Keep these rows: only the filled columns are copied, into the front of the same buffers."""
            rows = len(indices)
            if rows > self._key_buffer.shape[0]:  # more rows than the buffers hold (repeats): new buffers
                self._move(self.keys.index_select(0, indices), self.values.index_select(0, indices),
                           self._key_buffer.shape[-2])
                return
            self._key_buffer[:rows, ..., : self.filled, :] = self.keys.index_select(0, indices)
            self._value_buffer[:rows, ..., : self.filled, :] = self.values.index_select(0, indices)
            self._key_buffer, self._value_buffer = self._key_buffer[:rows], self._value_buffer[:rows]
            self._view()

        def batch_repeat_interleave(self, repeats: int) -> None:
            keys, values = self.keys.repeat_interleave(repeats, 0), self.values.repeat_interleave(repeats, 0)
            self._move(keys, values, self._key_buffer.shape[-2])

        def crop(self, tokens_to_remove: int) -> None:
            super().crop(tokens_to_remove)  # DynamicLayer's checks; then the buffers follow
            self.filled = self.keys.shape[-2]
            self._view()

    return ReservedLayer


def _forward(model, cache=None, **inputs):
    """One forward pass: the last position's logits (float32) and the updated cache."""
    import torch

    accepts = _forward_parameters(model)
    if "logits_to_keep" in accepts:
        inputs["logits_to_keep"] = 1
    if cache is not None:
        # transformers 5 calls the argument ``cache``; earlier versions ``past_key_values``.
        inputs["cache" if "cache" in accepts else "past_key_values"] = cache
    output = model(use_cache=True, return_dict=True, **inputs)
    new_cache = output.cache if "cache" in output else output.past_key_values
    return output.logits[:, -1].to(copy=True, dtype=torch.float32), new_cache


def _forward_parameters(model) -> frozenset[str]:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return frozenset(inspect.signature(base.forward).parameters)
    except (TypeError, ValueError):
        return frozenset()


def _prefill(model, unique: list[tuple[int, ...]], device) -> _Batch:
    """Prefill each distinct prompt once: the shared prefix at batch 1, the rest in groups of similar length.

    The cache comes out laid out ``[prefix | padding | rest of the prompt]`` per row, every row
    ending at the same column, with the mask hiding the padding and positions counting real tokens.
    """
    import torch

    shortest = min(len(p) for p in unique)
    prefix = 0  # tokens every distinct prompt starts with, leaving each at least one token of its own
    while prefix < shortest - 1 and len({p[prefix] for p in unique}) == 1:
        prefix += 1

    prefix_cache = None
    if prefix:
        ids = torch.tensor([unique[0][:prefix]], device=device)
        _, prefix_cache = _forward(model, input_ids=ids, attention_mask=torch.ones_like(ids),
                                   position_ids=torch.arange(prefix, device=device)[None])

    groups = _length_groups([len(p) - prefix for p in unique])
    width = max(len(p) for p in unique) - prefix
    parts: list[tuple[list[int], Any, Any, Any]] = []
    for group in groups:
        rests = [unique[i][prefix:] for i in group]
        group_width = max(len(r) for r in rests)
        ids = torch.full((len(group), group_width), 0, dtype=torch.long, device=device)
        rest_mask = torch.zeros((len(group), group_width), dtype=torch.long, device=device)
        positions = torch.zeros((len(group), group_width), dtype=torch.long, device=device)
        for row, rest in enumerate(rests):
            ids[row, group_width - len(rest):] = torch.tensor(rest, device=device)
            rest_mask[row, group_width - len(rest):] = 1
            positions[row, group_width - len(rest):] = torch.arange(prefix, prefix + len(rest), device=device)
        cache = None
        if prefix_cache is not None:
            cache = copy.copy(prefix_cache)
            cache.layers = [copy.copy(layer) for layer in prefix_cache.layers]
            for layer in cache.layers:
                layer.keys = layer.keys.expand(len(group), -1, -1, -1)
                layer.values = layer.values.expand(len(group), -1, -1, -1)
        mask = torch.cat([torch.ones((len(group), prefix), dtype=torch.long, device=device), rest_mask], dim=1)
        logits, cache = _forward(model, cache, input_ids=ids, attention_mask=mask, position_ids=positions)
        parts.append((group, cache, mask, logits))

    # One batch, every row ending at the same column: pad each group's rest on the left up to the widest.
    first_cache = parts[0][1]
    columns = prefix + width
    for index, layer in enumerate(first_cache.layers):
        keys, values = [], []
        for _, cache, _, _ in parts:
            source = cache.layers[index]
            keys.append(_pad_middle(source.keys, prefix, columns, dim=2))
            values.append(_pad_middle(source.values, prefix, columns, dim=2))
        layer.keys, layer.values = torch.cat(keys), torch.cat(values)
    mask = torch.cat([_pad_middle(m, prefix, columns, dim=1) for _, _, m, _ in parts])
    logits = torch.cat([l for _, _, _, l in parts])
    positions = torch.tensor([len(unique[i]) for group, _, _, _ in parts for i in group], device=device)
    batch = _Batch(first_cache, mask, positions, logits)
    # Back to the order of ``unique``.
    grouped = [i for group, _, _, _ in parts for i in group]
    inverse = torch.empty(len(grouped), dtype=torch.long, device=device)
    inverse[torch.tensor(grouped, device=device)] = torch.arange(len(grouped), device=device)
    batch.select(inverse)
    return batch


def _length_groups(lengths: list[int]) -> list[list[int]]:
    """Indices of ``lengths`` in groups to prefill together: shortest first, a group closing when
    padding its members to its longest would add more than ``_PREFILL_PADDING`` of its real tokens."""
    groups: list[list[int]] = [[]]
    real = 0
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        # Sorted, so this one is the group's longest: the padded size is its length x the group's size.
        if groups[-1] and lengths[index] * (len(groups[-1]) + 1) - (real + lengths[index]) > _PREFILL_PADDING * (
                real + lengths[index]):
            groups.append([])
            real = 0
        groups[-1].append(index)
        real += lengths[index]
    return groups


def _pad_middle(tensor, prefix: int, columns: int, *, dim: int):
    """Insert zeros after the first ``prefix`` columns of ``dim`` so it has ``columns`` columns."""
    import torch

    missing = columns - tensor.shape[dim]
    if missing == 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    zeros = torch.zeros(shape, dtype=tensor.dtype, device=tensor.device)
    head, tail = tensor.narrow(dim, 0, prefix), tensor.narrow(dim, prefix, tensor.shape[dim] - prefix)
    return torch.cat([head, zeros, tail], dim=dim)


def draw(probs):
    """One token per row of ``probs`` (rows of probabilities), each with its probability: the cumulative
    distribution inverted at one uniform draw per row.

    ``torch.multinomial`` draws one exponential per vocabulary entry (its CPU kernel divides the
    probabilities by them and takes the largest): 786,432 draws a step for 16 rows of SmolLM2's
    49,152 tokens, about 1 s of a 10 s quickstart generation. Here a row costs one draw and a
    cumulative sum, in float64 where the device has it (MPS has not) so that sums over a large
    vocabulary keep each entry's share. The draw is below the row's total (a number below 1 times a
    positive total rounds below it), so the entry found has a positive probability.
    """
    import torch

    dtype = torch.float32 if probs.device.type == "mps" else torch.float64
    cdf = probs.to(dtype).cumsum(-1)
    total = cdf[:, -1:]
    if bool((~torch.isfinite(total) | (total <= 0)).any()):
        raise RuntimeError("probabilities must be finite (no inf or nan) and each row must sum above 0")
    u = torch.rand(total.shape, dtype=dtype, device=probs.device) * total
    return torch.searchsorted(cdf, u, right=True).squeeze(1)


def _decode_rows(model, batch: _Batch, prompts: Sequence[Sequence[int]], max_new_tokens: int, sampling: Sampling,
                 stop_ids: set[int], pad_id: int) -> list[list[int]]:
    import torch

    rows = len(prompts)
    device = batch.logits.device
    processors = sampling.processors()
    stops = torch.tensor(sorted(stop_ids), device=device, dtype=torch.long)
    out: list[list[int]] = [[] for _ in range(rows)]
    alive = list(range(rows))  # batch row -> output row
    running = torch.ones(rows, dtype=torch.bool, device=device)
    seen = tokens_so_far(prompts, sampling, device)
    for step in range(max_new_tokens):
        scores = processors(seen, batch.logits) if len(processors) else batch.logits
        if sampling.greedy:
            tokens = torch.argmax(scores, dim=-1)
        else:
            tokens = draw(torch.softmax(scores, dim=-1))
        tokens = torch.where(running, tokens, torch.full_like(tokens, pad_id))
        listed = tokens.tolist()
        flags = running.tolist()
        for row, token in enumerate(listed):
            if flags[row]:
                out[alive[row]].append(token)
        running = running & ~torch.isin(tokens, stops) if len(stops) else running
        if step == max_new_tokens - 1 or not bool(running.any()):
            break
        stopped = len(alive) - int(running.sum())
        if stopped and stopped >= _COMPACT_SHARE * len(alive):
            keep = running.nonzero().squeeze(1)
            batch.select(keep)
            kept = keep.tolist()
            alive = [alive[i] for i in kept]
            tokens, running, seen = tokens[keep], running[keep], seen[keep]
        if sampling.repetition_penalty != 1.0:
            seen = torch.cat([seen, tokens[:, None]], dim=1)
        batch.mask = torch.cat([batch.mask, torch.ones((len(alive), 1), dtype=batch.mask.dtype, device=device)], 1)
        batch.logits, batch.cache = _forward(model, batch.cache, input_ids=tokens[:, None], attention_mask=batch.mask,
                                             position_ids=batch.positions[:, None])
        batch.positions = batch.positions + 1
    return out
