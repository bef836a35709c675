"""r1cli.training.batch_ops: splicing and masking rows of the batch GRPOTrainer._generate_and_score_completions builds.

The batches here are shaped as TRL 1.16 builds them: ``prompt_ids``/``prompt_mask`` left-padded,
``completion_ids``/``completion_mask`` and per-token log-probs right-padded, ``advantages`` one per
row, ``num_items_in_batch`` a scalar, ``importance_sampling_ratio`` (B, T) or (B, 1), ``tool_mask``
right-padded with 1.
"""

from __future__ import annotations

import pytest
import torch

from r1cli.errors import ConfigError
from r1cli.training.batch_ops import align, check_supported, loss_token_count, mask_rows, splice_rows

PAD = 99


def _left(rows: list[list], value, dtype) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([[value] * (width - len(r)) + r for r in rows], dtype=dtype)


def _right(rows: list[list], value, dtype) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=dtype)


def make_batch(prompts: list[list[int]], completions: list[list[int]], advantages: list[float], *,
               logps_offset: float = 0.0, ratio: str | None = None, tool: bool = False, ref: bool = False) -> dict:
    """A generation batch; each completion token's log-prob is -(token / 100) - logps_offset, so rows are traceable."""
    logps = [[-(t / 100) - logps_offset for t in c] for c in completions]
    batch = {
        "prompt_ids": _left(prompts, PAD, torch.long),
        "prompt_mask": _left([[1] * len(p) for p in prompts], 0, torch.long),
        "completion_ids": _right(completions, PAD, torch.long),
        "completion_mask": _right([[1] * len(c) for c in completions], 0, torch.long),
        "advantages": torch.tensor(advantages, dtype=torch.float32),
        "num_items_in_batch": torch.tensor(sum(len(c) for c in completions)),
        "old_per_token_logps": _right(logps, 0.0, torch.float32),
        "sampling_per_token_logps": _right(logps, 0.0, torch.float32),
    }
    if ref:
        batch["ref_per_token_logps"] = _right(logps, 0.0, torch.float32)
    if ratio == "token":
        batch["importance_sampling_ratio"] = _right([[0.5] * len(c) for c in completions], 1.0, torch.float32)
    elif ratio == "sequence":
        batch["importance_sampling_ratio"] = torch.full((len(completions), 1), 0.5)
    if tool:
        # the middle token of each completion came from a tool call: masked out of the loss
        batch["tool_mask"] = _right([[1] * len(c) for c in completions], 1, torch.long)
        for i, c in enumerate(completions):
            if len(c) >= 3:
                batch["tool_mask"][i, 1] = 0
    return batch


def base_batch(**kw) -> dict:
    return make_batch([[1, 2, 3], [1, 2, 3], [4, 5], [4, 5]], [[10, 11], [12], [13, 14, 15], [16]],
                      [0.0, 0.0, 1.0, -1.0], **kw)


def new_batch(**kw) -> dict:
    return make_batch([[1, 2, 3], [1, 2, 3], [6, 7, 8, 9, 10], [6, 7, 8, 9, 10]],
                      [[20, 21, 22, 23, 24], [25], [26, 27], [28, 29, 30, 31]], [0.7, -0.7, 0.5, -0.5],
                      logps_offset=1.0, **kw)


def real(row_ids: torch.Tensor, mask: torch.Tensor) -> list[int]:
    return row_ids[mask.bool()].tolist()


# --- check_supported ----------------------------------------------------------------------------


def test_check_supported_accepts_every_text_only_key():
    check_supported(base_batch(ratio="token", tool=True, ref=True))


@pytest.mark.parametrize("extra", [["pixel_values"], ["image_grid_thw", "pixel_values"], ["num_images"], ["token_type_ids"]])
def test_check_supported_refuses_multimodal_keys(extra):
    batch = base_batch()
    for key in extra:
        batch[key] = torch.zeros(4, 2)
    with pytest.raises(ConfigError) as info:
        check_supported(batch)
    assert info.value.message == f"reject sampling cannot splice batches with {', '.join(sorted(extra))}"
    assert "use_reject_sampling off" in info.value.hint


# --- align --------------------------------------------------------------------------------------


def test_align_pads_prompts_left_and_completions_right_with_neutral_values():
    a, b = align(base_batch(ratio="token", tool=True), new_batch(ratio="token", tool=True), PAD)
    for key in ("prompt_ids", "prompt_mask"):
        assert a[key].shape == b[key].shape == (4, 5)
    for key in ("completion_ids", "completion_mask", "old_per_token_logps", "sampling_per_token_logps",
                "importance_sampling_ratio", "tool_mask"):
        assert a[key].shape == b[key].shape == (4, 5), key
    assert a["prompt_ids"][0].tolist() == [PAD, PAD, 1, 2, 3]
    assert a["prompt_mask"][0].tolist() == [0, 0, 1, 1, 1]
    assert a["completion_ids"][0].tolist() == [10, 11, PAD, PAD, PAD]
    assert a["completion_mask"][2].tolist() == [1, 1, 1, 0, 0]
    assert a["old_per_token_logps"][1, 1:].tolist() == [0.0] * 4
    assert a["importance_sampling_ratio"][2].tolist() == [0.5, 0.5, 0.5, 1.0, 1.0]
    assert a["tool_mask"][2].tolist() == [1, 0, 1, 1, 1]  # TRL pads tool masks with 1
    assert a["prompt_ids"].dtype == torch.long and a["old_per_token_logps"].dtype == torch.float32
    # the wider batch is unchanged, and the inputs are not modified
    assert torch.equal(b["completion_ids"], new_batch()["completion_ids"])
    assert base_batch()["completion_ids"].shape == (4, 3)


def test_align_leaves_sequence_level_ratio_alone():
    a, b = align(base_batch(ratio="sequence"), new_batch(ratio="sequence"), PAD)
    assert a["importance_sampling_ratio"].shape == (4, 1) and b["importance_sampling_ratio"].shape == (4, 1)
    assert a["completion_ids"].shape == (4, 5)


def test_align_refuses_batches_with_different_keys():
    with pytest.raises(ValueError, match=r"batches differ in keys: \['ref_per_token_logps'\]"):
        align(base_batch(ref=True), new_batch(), PAD)


# --- splice_rows --------------------------------------------------------------------------------


def test_splice_rows_replaces_rows_across_different_widths():
    base, new = base_batch(), new_batch()
    out = splice_rows(base, new, [(2, 0), (3, 3)], PAD)

    assert out["prompt_ids"].shape == (4, 5) and out["completion_ids"].shape == (4, 5)
    # untouched rows keep their tokens, now padded
    assert real(out["prompt_ids"][0], out["prompt_mask"][0]) == [1, 2, 3]
    assert real(out["completion_ids"][1], out["completion_mask"][1]) == [12]
    assert out["advantages"][:2].tolist() == [0.0, 0.0]
    # spliced rows are the new rows, whole
    assert out["prompt_ids"][2].tolist() == [PAD, PAD, 1, 2, 3] and out["prompt_mask"][2].tolist() == [0, 0, 1, 1, 1]
    assert out["prompt_ids"][3].tolist() == [6, 7, 8, 9, 10] and out["prompt_mask"][3].tolist() == [1] * 5
    assert out["completion_ids"][2].tolist() == [20, 21, 22, 23, 24]
    assert out["completion_ids"][3].tolist() == [28, 29, 30, 31, PAD]
    assert out["completion_mask"][3].tolist() == [1, 1, 1, 1, 0]
    assert out["advantages"].tolist() == pytest.approx([0.0, 0.0, 0.7, -0.5])
    assert out["old_per_token_logps"][3].tolist() == pytest.approx([-1.28, -1.29, -1.30, -1.31, 0.0])
    assert out["sampling_per_token_logps"][2].tolist() == pytest.approx([-1.2, -1.21, -1.22, -1.23, -1.24])
    # log-probs line up with their tokens in every row
    for row in range(4):
        mask = out["completion_mask"][row].bool()
        offset = 1.0 if row >= 2 else 0.0
        expected = [-(t / 100) - offset for t in out["completion_ids"][row][mask].tolist()]
        assert out["old_per_token_logps"][row][mask].tolist() == pytest.approx(expected)


def test_splice_rows_into_a_wider_base_pads_the_new_rows():
    out = splice_rows(new_batch(), base_batch(), [(1, 0)], PAD)
    assert out["prompt_ids"][1].tolist() == [PAD, PAD, 1, 2, 3]
    assert out["prompt_mask"][1].tolist() == [0, 0, 1, 1, 1]
    assert out["completion_ids"][1].tolist() == [10, 11, PAD, PAD, PAD]
    assert out["completion_mask"][1].tolist() == [1, 1, 0, 0, 0]
    assert out["old_per_token_logps"][1].tolist() == pytest.approx([-0.10, -0.11, 0.0, 0.0, 0.0])
    assert out["advantages"][1].item() == 0.0


def test_splice_rows_does_not_modify_its_inputs_and_leaves_num_items_stale():
    base, new = base_batch(ratio="token", tool=True, ref=True), new_batch(ratio="token", tool=True, ref=True)
    before = {k: v.clone() for k, v in base.items()}
    out = splice_rows(base, new, [(0, 1), (1, 2)], PAD)
    for key, value in before.items():
        assert torch.equal(base[key], value), key
    assert out["num_items_in_batch"] is base["num_items_in_batch"]  # the caller recomputes it (a collective)
    # rows 0 and 1 are new rows 1 and 2 ([25], [26, 27]); row 2 keeps its tool token out of the loss
    assert loss_token_count(out).item() == 1 + 2 + (3 - 1) + 1
    assert real(out["completion_ids"][1], out["completion_mask"][1]) == [26, 27]
    assert out["tool_mask"][0].tolist() == [1, 1, 1, 1, 1]
    assert out["ref_per_token_logps"][0, 0].item() == pytest.approx(-1.25)
    assert out["importance_sampling_ratio"][1].tolist() == [0.5, 0.5, 1.0, 1.0, 1.0]


def test_splice_rows_with_sequence_level_ratio():
    out = splice_rows(base_batch(ratio="sequence"), new_batch(ratio="sequence"), [(3, 0)], PAD)
    assert out["importance_sampling_ratio"].shape == (4, 1)
    assert out["completion_ids"][3].tolist() == [20, 21, 22, 23, 24]


def test_splice_rows_without_pairs_is_the_base_itself():
    base = base_batch()
    assert splice_rows(base, new_batch(ref=True), [], PAD) is base  # not even aligned: nothing to do


def test_splice_rows_refuses_multimodal_batches():
    base, new = base_batch(), new_batch()
    base["pixel_values"] = new["pixel_values"] = torch.zeros(4, 3)
    with pytest.raises(ConfigError, match="pixel_values"):
        splice_rows(base, new, [(0, 0)], PAD)


# --- mask_rows and loss_token_count -------------------------------------------------------------


def test_mask_rows_zeroes_advantage_and_completion_mask_of_those_rows_only():
    batch = base_batch()
    out = mask_rows(batch, [2, 3])
    assert out["advantages"].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert out["completion_mask"].tolist() == [[1, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert out["completion_ids"] is batch["completion_ids"]  # tokens stay, they just weigh nothing
    assert batch["advantages"].tolist() == [0.0, 0.0, 1.0, -1.0]  # the input is not modified
    assert batch["completion_mask"][2].tolist() == [1, 1, 1]
    assert loss_token_count(out).item() == 3


def test_mask_rows_without_rows_is_the_batch_itself():
    batch = base_batch()
    assert mask_rows(batch, []) is batch


def test_loss_token_count_counts_completion_tokens():
    assert loss_token_count(base_batch()).item() == 2 + 1 + 3 + 1
    assert loss_token_count(new_batch()).item() == 5 + 1 + 2 + 4


def test_loss_token_count_leaves_out_tool_tokens():
    batch = base_batch(tool=True)
    assert loss_token_count(batch).item() == 7 - 1  # row 2's middle token came from a tool
    batch["tool_mask"] = None
    assert loss_token_count(batch).item() == 7
