"""GRPO's loss forward with each prompt computed once for the completions that share it.

TRL scores a micro-batch as one padded row per completion: ``[left-padded prompt | right-padded
completion]``. With GRPO's K completions per prompt, each prompt runs through the backbone K times
(forward, the checkpointing recompute and the backward), and every row is as wide as the longest
prompt plus the longest completion. At the quickstart's settings (54-token prompts, 4 completions of
up to 64 tokens) prompts and padding were about half of the positions the backbone computed.

Here the rows that share a prompt become one *packed* row::

    [ p0 .. p(P-2) | p(P-1) c1_0 .. c1_(L1-2) | p(P-1) c2_0 .. c2_(L2-2) | ... | padding ]
      the prompt     slot of completion 1        slot of completion 2

with a block attention mask (a slot sees the prompt and itself, causally; the prompt sees only
itself) and each slot's position ids continuing the prompt's. The padding (at least one column)
carries TRL's largest position id, the rows' padded width less one: rotary variants that choose
their frequencies from the largest position in the batch (dynamic NTK, LongRoPE) choose as in
TRL's rows. Each slot starts with a copy of the
prompt's last token, whose hidden state predicts the completion's first token, so position and label
pair up one to one and TRL's fused LM head scores the slots through ``shift_labels`` unchanged
(temperature, logit scaling, ``cast_lm_head_to_fp32`` and the CPU compaction of
:mod:`r1cli.training.fused_head` included). Every scored position attends to exactly the tokens it
attends to in TRL's row, at the same relative positions, so log-probs, entropies, the loss and its
gradients are TRL's up to float rounding (sums over fewer, differently shaped rows; rotary angles at
unshifted positions). The results go back to TRL's ``(batch, logits_to_keep)`` layout, zeros where
TRL has zeros.

When it applies (:func:`supports`, :func:`plan`; anything else takes TRL's padded forward):

* a model whose every layer mixes tokens by attention (no recurrent, convolutional or linear-attention
  layers: state would flow from one slot into the next) under ``sdpa`` or ``eager`` attention (they
  take a custom 4D mask), with rotary position embeddings (relative: TRL's left-padded rows run at
  shifted absolute positions, and only relative encodings make the two layouts agree), text only,
  no PEFT prompt-learning adapter (PEFT lays out its virtual tokens with its own 2D mask), no MoE
  load-balancing loss, no sliding window narrower than TRL's rows (the block mask replaces the
  window's mask);
* every row's mask is a left-padded prompt followed by a contiguous completion (TRL's layout);
* the packed layout is estimated to cost less: attention over a packed row is quadratic in its
  width, so long completions can cost more packed than padded. :func:`plan` chooses how many slots
  share a row (1 to the group's size) by an estimate of the backbone's FLOPs from the model's config
  (projections per position, attention per query-key pair, padding included) and packs only where
  the best choice is estimated below :data:`WORTH_PACKING` of the padded batch's cost. Under
  ``eager`` attention, which materialises a score for every query-key pair, no layout with more
  pairs than TRL's rows is considered (``sdpa`` computes them in tiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from r1cli.models.dimensions import dimensions
from r1cli.models.loading import is_prompt_learning

if TYPE_CHECKING:
    import torch

# Pack only when the estimate says the packed batch costs less than this share of the padded one:
# the estimate leaves out the mask's own cost and its kernels, so a marginal gain is not taken.
WORTH_PACKING = 0.9

# Attention that honours a custom 4D mask, and the mask it takes: sdpa a boolean one (computed in tiles),
# eager an additive one (added to a materialised score for every query-key pair). Flash/flex kernels
# take other masks and keep TRL's rows.
_MASK_KIND = {"sdpa": "boolean", "eager": "additive"}
_ATTENTION_LAYERS = ("full_attention", "sliding_attention")
# Layer parts that carry state along the sequence outside attention (hybrid architectures).
_SEQUENCE_MIXERS = ("mamba", "linear_attn", "mixer", "conv", "ssm", "short_conv")


@dataclass(frozen=True)
class Cost:
    """FLOPs estimate of the backbone per layer: ``per_position`` for the projections, ``per_pair`` for attention
    (per query-key pair, masked pairs included: a dense mask computes them)."""

    per_position: float
    per_pair: float

    def of(self, rows: int, width: int) -> float:
        return rows * width * (self.per_position + self.per_pair * width)


def cost_of(config) -> Cost:
    """The estimate for a transformer ``config``: q/k/v/o and a gated MLP per position, QK and AV per pair."""
    d = dimensions(config)
    params = 2 * d.hidden * d.heads * d.head_dim + 2 * d.hidden * d.kv_heads * d.head_dim + 3 * d.hidden * d.intermediate
    return Cost(per_position=2.0 * params, per_pair=4.0 * d.heads * d.head_dim)


def unsupported(model) -> str | None:
    """Why ``model`` (unwrapped: a PreTrainedModel or a PEFT model around one) cannot take packed rows; None if it can."""
    config = getattr(model, "config", None)
    if config is None or config.get_text_config() is not config:
        return "not a text-only model"  # vision-language: M-RoPE, image tokens
    attention = getattr(config, "_attn_implementation", None)
    if attention not in _MASK_KIND:
        return f"attention {attention!r} takes no custom 4D mask (sdpa and eager do)"
    if is_prompt_learning(model):
        return "a PEFT prompt-learning adapter lays out its own virtual tokens"
    if getattr(config, "output_router_logits", False):
        return "a MoE load-balancing loss reads the 2D attention mask"
    if getattr(config, "attention_chunk_size", None):
        return "chunked attention"
    if not any(type(m).__name__.endswith("RotaryEmbedding") for m in model.modules()):
        return "no rotary position embeddings (absolute positions would differ from TRL's left-padded rows)"
    return not_attention_only(model)


def not_attention_only(model) -> str | None:
    """Why not every decoder layer of ``model`` mixes tokens by attention alone; None if every one does."""
    config = model.config
    if not set(getattr(config, "layer_types", None) or ()) <= set(_ATTENTION_LAYERS):
        return f"layers other than attention ({sorted(set(config.layer_types) - set(_ATTENTION_LAYERS))})"
    layers = _decoder_layers(model)
    if not layers:
        return "no decoder layers found (get_decoder().layers)"
    if not all(
        hasattr(layer, "self_attn") and not any(hasattr(layer, part) for part in _SEQUENCE_MIXERS) for layer in layers
    ):
        return "a layer that mixes tokens outside attention"
    return None


def supports(model) -> bool:
    return unsupported(model) is None


def sliding_window(config) -> int | None:
    """The window of the model's sliding-window layers; None when no layer slides (a window set but unused:
    Qwen2's ``use_sliding_window: false``, Qwen2-MoE's ``sliding_window: 0``)."""
    window = getattr(config, "sliding_window", None)
    if not window:
        return None
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None:
        return window if "sliding_attention" in layer_types else None
    return window if getattr(config, "use_sliding_window", True) else None


def _decoder_layers(model) -> list:
    """The model's decoder layers (``get_decoder().layers``; a PEFT model forwards to its base model)."""
    try:
        layers = getattr(model.get_decoder(), "layers", None)
    except (AttributeError, NotImplementedError, TypeError):
        return []
    return list(layers) if layers is not None else []


@dataclass(frozen=True)
class Packed:
    """A micro-batch in packed rows, and where each scored position goes back to in TRL's layout."""

    input_ids: torch.Tensor  # (rows, width)
    position_ids: torch.Tensor  # (rows, width)
    allowed: torch.Tensor  # (rows, 1, width, width) bool: query i attends to key j
    shift_labels: torch.Tensor  # (rows, width): the token each position predicts, -100 where none
    source: torch.Tensor  # flat indices into (rows * width) of the scored positions ...
    target: torch.Tensor  # ... and where each goes in (batch * logits_to_keep)
    batch: int
    logits_to_keep: int

    def attention_mask(self, dtype) -> torch.Tensor:
        """The mask as the model takes it: boolean for sdpa, additive (0 / dtype's minimum) for eager."""
        import torch

        if dtype == torch.bool:
            return self.allowed
        return torch.zeros(self.allowed.shape, dtype=dtype, device=self.allowed.device).masked_fill(
            ~self.allowed, torch.finfo(dtype).min
        )

    def unpack(self, values: torch.Tensor) -> torch.Tensor:
        """Per-position ``values`` of the packed rows, in TRL's ``(batch, logits_to_keep)`` layout (zeros elsewhere)."""
        scored = values.reshape(-1)[self.source]
        out = values.new_zeros(self.batch * self.logits_to_keep).index_copy(0, self.target, scored)
        return out.view(self.batch, self.logits_to_keep)


@dataclass(frozen=True)
class _Row:
    """One original row: its prompt (real tokens), its completion (the contiguous real tokens)."""

    index: int
    prompt: tuple[int, ...]
    completion: list[int]


def plan(input_ids: torch.Tensor, attention_mask: torch.Tensor, logits_to_keep: int, cost: Cost,
         window: int | None = None, pairs_bound: bool = False) -> Packed | None:
    """The packed layout of a micro-batch, or None where TRL's padded rows are to be kept.

    ``input_ids``/``attention_mask``: TRL's ``(batch, prompt + completion)`` tensors, the last
    ``logits_to_keep`` columns the completion's; ``window``: the model's sliding window (TRL's rows
    must fit in it: the block mask does not apply one); ``pairs_bound``: consider only layouts with
    no more query-key pairs than TRL's rows (attention that materialises its scores).
    """
    import torch

    if logits_to_keep < 1:  # TRL's slices read 0 as "the whole row"
        return None
    rows = _rows(input_ids, attention_mask, logits_to_keep)
    if rows is None:
        return None
    width = input_ids.shape[1]
    if window is not None and width > window:
        return None
    groups: dict[tuple[int, ...], list[_Row]] = {}
    for row in rows:
        groups.setdefault(row.prompt, []).append(row)
    padded = cost.of(len(rows), width)
    best: tuple[float, list[list[_Row]]] | None = None
    for per_row in range(1, max(len(g) for g in groups.values()) + 1):
        packs = [g[i:i + per_row] for g in groups.values() for i in range(0, len(g), per_row)]
        packed_width = _layout_width(packs)
        if pairs_bound and len(packs) * packed_width**2 > len(rows) * width**2:
            continue
        estimate = cost.of(len(packs), packed_width)
        if best is None or estimate < best[0]:
            best = (estimate, packs)
    if best is None or best[0] >= WORTH_PACKING * padded:
        return None
    return _build(best[1], len(rows), logits_to_keep, width - 1, input_ids.device, torch)


def _rows(input_ids, attention_mask, logits_to_keep: int) -> list[_Row] | None:
    """The rows' real prompts and completions; None unless each is TRL's layout (left-padded prompt, then
    a contiguous completion from the completion's first column) with at least one prompt token."""
    import torch

    mask = attention_mask.bool()
    prompt_columns = mask.shape[1] - logits_to_keep
    prompt_mask, completion_mask = mask[:, :prompt_columns], mask[:, prompt_columns:]
    prompt_lengths, completion_lengths = prompt_mask.sum(1), completion_mask.sum(1)
    columns = torch.arange(prompt_columns, device=mask.device)
    if not torch.equal(prompt_mask, columns[None] >= prompt_columns - prompt_lengths[:, None]):
        return None
    columns = torch.arange(logits_to_keep, device=mask.device)
    if not torch.equal(completion_mask, columns[None] < completion_lengths[:, None]):
        return None
    if prompt_columns == 0 or int(prompt_lengths.min()) < 1:
        return None
    ids = input_ids.tolist()
    return [
        _Row(i, tuple(row[prompt_columns - p:prompt_columns]), row[prompt_columns:prompt_columns + c])
        for i, (row, p, c) in enumerate(zip(ids, prompt_lengths.tolist(), completion_lengths.tolist()))
    ]


def _content(pack: list[_Row]) -> int:
    """A packed row's tokens: the prompt less its last token, then one slot (that token + the completion) each."""
    return len(pack[0].prompt) - 1 + sum(max(1, len(row.completion)) for row in pack)


def _layout_width(packs: list[list[_Row]]) -> int:
    """The packed rows' width: the longest row's tokens and a column of padding (see the module doc)."""
    return max(_content(pack) for pack in packs) + 1


def _build(packs: list[list[_Row]], batch: int, logits_to_keep: int, trl_last_position: int, device,
           torch) -> Packed:
    width = _layout_width(packs)
    ids, positions, segments, labels = [], [], [], []
    source, target = [], []
    for r, pack in enumerate(packs):
        prompt = pack[0].prompt
        row_ids, row_pos, row_seg = list(prompt[:-1]), list(range(len(prompt) - 1)), [0] * (len(prompt) - 1)
        row_labels = [-100] * (len(prompt) - 1)
        for slot, row in enumerate(pack, start=1):
            start = len(row_ids)
            # The slot: the prompt's last token, then the completion less its last token; it predicts the completion.
            tokens = [prompt[-1], *row.completion[:-1]] if row.completion else [prompt[-1]]
            row_ids += tokens
            row_pos += range(len(prompt) - 1, len(prompt) - 1 + len(tokens))
            row_seg += [slot] * len(tokens)
            row_labels += row.completion or [-100]
            source += range(r * width + start, r * width + start + len(row.completion))
            target += range(row.index * logits_to_keep, row.index * logits_to_keep + len(row.completion))
        pad = width - len(row_ids)
        ids.append(row_ids + [prompt[-1]] * pad)
        positions.append(row_pos + [trl_last_position] * pad)
        segments.append(row_seg + [-1] * pad)
        labels.append(row_labels + [-100] * pad)
    seg = torch.tensor(segments, device=device)
    query, key = seg[:, :, None], seg[:, None, :]
    causal = torch.ones(width, width, dtype=torch.bool, device=device).tril()
    allowed = causal & ((key == 0) | (key == query)) & (query >= 0) & (key >= 0)
    # Padding attends to itself only: no row of the mask is empty (an all-masked softmax is NaN in the backward).
    allowed |= torch.eye(width, dtype=torch.bool, device=device) & (query < 0)
    long = dict(dtype=torch.long, device=device)
    return Packed(
        input_ids=torch.tensor(ids, **long), position_ids=torch.tensor(positions, **long),
        allowed=allowed[:, None], shift_labels=torch.tensor(labels, **long),
        source=torch.tensor(source, **long), target=torch.tensor(target, **long),
        batch=batch, logits_to_keep=logits_to_keep,
    )


def logps_and_entropies(model, unwrapped, input_ids, attention_mask, logits_to_keep: int, *, batch_size: int | None,
                        compute_entropy: bool, autocast: Callable):
    """TRL's ``(log_probs, entropies)`` for the micro-batch through packed rows; None where any chunk keeps TRL's rows.

    ``model``: what TRL calls (possibly wrapped for distribution); ``unwrapped``: the model itself
    (its config); ``batch_size``: TRL's chunking of the rows, kept; ``autocast``: the accelerator's.
    """
    import torch

    config = unwrapped.config
    cost = cost_of(config)
    batch_size = batch_size or input_ids.size(0)
    plans = []
    for start in range(0, input_ids.size(0), batch_size):
        chunk = plan(input_ids[start:start + batch_size], attention_mask[start:start + batch_size], logits_to_keep,
                     cost, window=sliding_window(config),
                     pairs_bound=_MASK_KIND[config._attn_implementation] == "additive")
        if chunk is None:
            return None
        plans.append(chunk)
    mask_dtype = torch.bool if _MASK_KIND[config._attn_implementation] == "boolean" else unwrapped.dtype
    logps, entropies = [], []
    for packed in plans:
        with autocast():
            out = model(input_ids=packed.input_ids, attention_mask=packed.attention_mask(mask_dtype),
                        position_ids=packed.position_ids, shift_labels=packed.shift_labels, fused_lm_head=True)
        logps.append(packed.unpack(out.log_probs))
        if compute_entropy:
            entropies.append(packed.unpack(out.entropy))
    return torch.cat(logps), (torch.cat(entropies) if compute_entropy else None)

