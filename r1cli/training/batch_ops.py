"""Row surgery on the batch dict TRL's GRPOTrainer builds in ``_generate_and_score_completions``.

Reject sampling replaces the rows of rejected groups with rows of a newer
generation round. The two batches were padded independently, so
``splice_rows`` first pads both to common widths (prompts on the left,
completions and per-token tensors on the right, with each key's neutral pad
value), then copies rows. ``mask_rows`` drops rows from the loss. Keys this
module does not know (multimodal inputs) are refused rather than silently
misaligned.
"""

from __future__ import annotations

from r1cli.errors import ConfigError

# Left-padded prompt tensors and their pad values (None: the tokenizer's pad id).
_PROMPT_KEYS = {"prompt_ids": None, "prompt_mask": 0}
# Right-padded per-completion-token tensors and their pad values.
_COMPLETION_KEYS = {
    "completion_ids": None,
    "completion_mask": 0,
    "old_per_token_logps": 0.0,
    "ref_per_token_logps": 0.0,
    "sampling_per_token_logps": 0.0,
    "importance_sampling_ratio": 1.0,  # (B, T), or (B, 1) at sequence level: never padded then
    "tool_mask": 1,  # TRL pads tool masks with 1
}
_ROW_KEYS = {"advantages"}
_BATCH_KEYS = {"num_items_in_batch"}  # a batch-level scalar: the caller recomputes it


def check_supported(batch: dict) -> None:
    unknown = set(batch) - set(_PROMPT_KEYS) - set(_COMPLETION_KEYS) - _ROW_KEYS - _BATCH_KEYS
    if unknown:
        raise ConfigError(
            f"reject sampling cannot splice batches with {', '.join(sorted(unknown))}",
            hint="reject sampling supports text-only GRPO; turn use_reject_sampling off for multimodal training",
        )


def _pad_to(tensor, width: int, value, left: bool):
    import torch

    missing = width - tensor.shape[1]
    if missing <= 0:
        return tensor
    filler = torch.full((tensor.shape[0], missing, *tensor.shape[2:]), value, dtype=tensor.dtype, device=tensor.device)
    return torch.cat([filler, tensor] if left else [tensor, filler], dim=1)


def align(a: dict, b: dict, pad_token_id: int) -> tuple[dict, dict]:
    """Copies of ``a`` and ``b`` whose 2-D tensors have the same widths, padded with neutral values."""
    check_supported(a)
    check_supported(b)
    if set(a) != set(b):
        raise ValueError(f"batches differ in keys: {sorted(set(a) ^ set(b))}")
    out_a, out_b = dict(a), dict(b)
    for keys, left in ((_PROMPT_KEYS, True), (_COMPLETION_KEYS, False)):
        for key, value in keys.items():
            if key not in a or a[key] is None:
                continue
            ta, tb = a[key], b[key]
            if ta.dim() < 2 or (ta.shape[1] == 1 and tb.shape[1] == 1):
                continue
            width = max(ta.shape[1], tb.shape[1])
            fill = pad_token_id if value is None else value
            out_a[key] = _pad_to(ta, width, fill, left)
            out_b[key] = _pad_to(tb, width, fill, left)
    return out_a, out_b


def splice_rows(base: dict, new: dict, pairs: list[tuple[int, int]], pad_token_id: int) -> dict:
    """A copy of ``base`` where row ``t`` is replaced by row ``s`` of ``new`` for each ``(t, s)`` in ``pairs``.

    ``num_items_in_batch`` is left stale: it is a global count, recomputed once
    by the caller after every splice (it needs a collective).
    """
    import torch

    if not pairs:
        return base
    base, new = align(base, new, pad_token_id)
    targets = torch.tensor([t for t, _ in pairs], dtype=torch.long)
    sources = torch.tensor([s for _, s in pairs], dtype=torch.long)
    out = dict(base)
    for key, tensor in base.items():
        if key in _BATCH_KEYS or tensor is None:
            continue
        spliced = tensor.clone()
        spliced[targets.to(tensor.device)] = new[key][sources.to(tensor.device)]
        out[key] = spliced
    return out


def mask_rows(batch: dict, rows: list[int]) -> dict:
    """A copy of ``batch`` in which ``rows`` contribute nothing to the loss (zero advantage, empty completion mask)."""
    if not rows:
        return batch
    out = dict(batch)
    advantages = batch["advantages"].clone()
    completion_mask = batch["completion_mask"].clone()
    advantages[rows] = 0.0
    completion_mask[rows] = 0
    out["advantages"] = advantages
    out["completion_mask"] = completion_mask
    return out


def loss_token_count(batch: dict):
    """Local count of completion tokens that enter the loss (TRL's ``num_items_in_batch`` before gathering)."""
    mask = batch["completion_mask"]
    if "tool_mask" in batch and batch["tool_mask"] is not None:
        mask = mask * batch["tool_mask"]
    return mask.sum()
