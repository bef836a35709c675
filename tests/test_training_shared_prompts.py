"""shared_prompts: each prompt computed once for its group; every scored position sees what it sees in TRL's rows."""

from __future__ import annotations

import contextlib
import math
import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

import trl.trainer.utils as trl_utils  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

from r1cli.training import shared_prompts  # noqa: E402
from r1cli.training.fused_head import compact_on_cpu  # noqa: E402
from r1cli.training.shared_prompts import Cost, cost_of, plan, supports, unsupported  # noqa: E402

# Projections only (no attention term): packing pays wherever it saves positions.
PROJECTIONS = Cost(per_position=1.0, per_pair=0.0)


def trl_batch(rows: list[tuple[list[int], list[int]]], completion_columns: int):
    """TRL's tensors for (prompt, completion) rows: left-padded prompts, right-padded completions (pad id 0)."""
    width = max(len(p) for p, _ in rows)
    ids = torch.zeros(len(rows), width + completion_columns, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, (prompt, completion) in enumerate(rows):
        ids[i, width - len(prompt):width] = torch.tensor(prompt)
        mask[i, width - len(prompt):width] = 1
        ids[i, width:width + len(completion)] = torch.tensor(completion, dtype=torch.long)
        mask[i, width:width + len(completion)] = 1
    return ids, mask


def random_rows(rng: random.Random, completion_columns: int) -> list[tuple[list[int], list[int]]]:
    """Groups of completions per prompt (sizes 1-5, prompts 1-9 tokens, completions 0 to full), shuffled as TRL does."""
    rows = []
    for _ in range(rng.randint(1, 4)):
        prompt = [rng.randint(5, 300) for _ in range(rng.randint(1, 9))]
        for _ in range(rng.randint(1, 5)):
            rows.append((prompt, [rng.randint(5, 300) for _ in range(rng.randint(0, completion_columns))]))
    rng.shuffle(rows)
    return rows


def trl_context(rows, row: int, j: int) -> list[tuple[int, int]]:
    """(token, relative position) of what predicts completion token j of ``row`` in TRL's row: the prompt, then
    the completion's first j tokens, positions counted from the prompt's first real token."""
    prompt, completion = rows[row]
    tokens = [*prompt, *completion[:j]]
    return list(zip(tokens, range(len(tokens))))


def packed_context(packed, flat: int) -> list[tuple[int, int]]:
    width = packed.input_ids.shape[1]
    r, i = divmod(flat, width)
    keys = packed.allowed[r, 0, i].nonzero().flatten().tolist()
    return sorted((packed.input_ids[r, k].item(), packed.position_ids[r, k].item()) for k in keys)


def test_every_scored_position_sees_exactly_its_trl_context_over_random_batches(monkeypatch):
    rng = random.Random(0)
    packed_batches = 0
    for _ in range(200):
        completion_columns = rng.randint(1, 8)
        rows = random_rows(rng, completion_columns)
        ids, mask = trl_batch(rows, completion_columns)
        packed = plan(ids, mask, completion_columns, PROJECTIONS)
        if packed is None:
            # Kept only where the best packed layout would not save enough: here (projections only) positions.
            with monkeypatch.context() as patched:
                patched.setattr(shared_prompts, "WORTH_PACKING", math.inf)
                best = plan(ids, mask, completion_columns, PROJECTIONS)
            assert best.input_ids.numel() >= shared_prompts.WORTH_PACKING * ids.numel()
            continue
        packed_batches += 1
        assert packed.input_ids.numel() < ids.numel()
        # Each scored position predicts its completion token, from exactly the tokens (and relative positions)
        # that predict it in TRL's row, and lands where TRL's result for it is.
        targets = dict(zip(packed.target.tolist(), packed.source.tolist()))
        assert len(targets) == int(mask[:, -completion_columns:].sum())
        for row, (_, completion) in enumerate(rows):
            for j, token in enumerate(completion):
                flat = targets[row * completion_columns + j]
                assert packed.shift_labels.flatten()[flat].item() == token
                assert packed_context(packed, flat) == sorted(trl_context(rows, row, j))
        back = packed.unpack(packed.shift_labels.float())
        expected = ids[:, -completion_columns:].float() * mask[:, -completion_columns:]
        assert torch.equal(back, expected)
        # Every query attends to something (an empty mask row is NaN in the backward), and the largest position
        # is TRL's (rotary variants that scale with the sequence read it).
        assert packed.allowed.any(-1).all()
        assert packed.position_ids.max() == ids.shape[1] - 1
    assert packed_batches > 150


@pytest.mark.parametrize("case", ["hole in a completion", "right-padded prompt", "no prompt token", "window"])
def test_layouts_it_cannot_reproduce_keep_trl_rows(case):
    rows = [([7, 8, 9], [10, 11, 12]), ([7, 8, 9], [13, 14])] * 2
    ids, mask = trl_batch(rows, 4)
    assert plan(ids, mask, 4, PROJECTIONS) is not None  # as built, the batch packs
    window = None
    if case == "hole in a completion":
        mask[0, 4] = 0  # a masked token between real ones
    elif case == "right-padded prompt":
        mask[0, 2] = 0
    elif case == "no prompt token":
        mask[1, :3] = 0
    else:  # a sliding window narrower than the rows: the block mask would widen it
        window = ids.shape[1] - 1
        assert plan(ids, mask, 4, PROJECTIONS, window=ids.shape[1]) is not None
    assert plan(ids, mask, 4, PROJECTIONS, window=window) is None


def test_the_row_layout_is_chosen_by_cost_and_long_rows_are_not_packed():
    prompt = list(range(5, 105))
    rows = [(prompt, list(range(200, 230))) for _ in range(8)]
    ids, mask = trl_batch(rows, 30)
    padded_width = ids.shape[1]
    # Projections dominate: all eight completions in one row.
    cheap_attention = Cost(per_position=1000.0, per_pair=1.0)
    assert plan(ids, mask, 30, cheap_attention).input_ids.shape[0] == 1
    # Attention weighs more: fewer slots per row, a layout estimated cheaper than the padded one.
    costly_attention = Cost(per_position=100.0, per_pair=1.0)
    packed = plan(ids, mask, 30, costly_attention)
    rows_used, width = packed.input_ids.shape
    assert 1 < rows_used < 8
    assert costly_attention.of(rows_used, width) < shared_prompts.WORTH_PACKING * costly_attention.of(8, padded_width)
    # Attention is all that counts and completions are long beside the prompt: every packed layout is dearer.
    long = [(prompt[:20], list(range(200, 260))) for _ in range(8)]
    ids, mask = trl_batch(long, 60)
    assert plan(ids, mask, 60, Cost(per_position=0.0, per_pair=1.0)) is None
    # Nothing to share and nothing padded (a packed row only drops the last token, which predicts nothing): TRL's rows.
    distinct = [(list(range(i, i + 10)), list(range(50, 70))) for i in range(5, 45, 10)]
    ids, mask = trl_batch(distinct, 20)
    assert plan(ids, mask, 20, cheap_attention) is None


def test_under_eager_attention_no_layout_has_more_query_key_pairs_than_trls_rows():
    rows = [(list(range(5, 65)), list(range(200, 230))) for _ in range(8)]
    ids, mask = trl_batch(rows, 30)
    trl_pairs = 8 * ids.shape[1] ** 2
    cheap_attention = Cost(per_position=1000.0, per_pair=1.0)
    packed = plan(ids, mask, 30, cheap_attention)
    assert packed.input_ids.shape[0] == 1 and packed.input_ids.shape[1] ** 2 > trl_pairs  # cheapest: more pairs
    packed = plan(ids, mask, 30, cheap_attention, pairs_bound=True)
    rows_used, width = packed.input_ids.shape
    assert rows_used > 1 and rows_used * width**2 <= trl_pairs


def test_the_sliding_window_is_the_one_a_layer_uses():
    from transformers import MistralConfig, Qwen2Config, Qwen2MoeConfig

    from r1cli.training.shared_prompts import sliding_window

    assert sliding_window(Qwen2Config()) is None  # use_sliding_window: false
    assert sliding_window(Qwen2MoeConfig()) is None  # sliding_window: 0
    assert sliding_window(MistralConfig(sliding_window=64)) == 64
    assert sliding_window(Qwen2Config(use_sliding_window=True, sliding_window=32, max_window_layers=0)) == 32


def test_the_cost_estimate_counts_a_layers_projection_weights(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    layer = model.model.layers[0]
    weights = sum(m.weight.numel() for m in layer.modules() if isinstance(m, torch.nn.Linear))
    cost = cost_of(model.config)
    assert cost.per_position == 2 * weights  # a multiply and an add per weight
    assert cost.per_pair == 4 * layer.self_attn.q_proj.out_features  # q.k and the value sum, per head dimension


def fused(model_dir, attn: str, **kwargs):
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), attn_implementation=attn, **kwargs)
    trl_utils.add_fused_lm_head(model, temperature=0.7, outputs=("log_probs", "entropy"))
    return model


def scores(model, ids, mask, completion_columns: int, packed: bool, params):
    """Log-probs and entropies in TRL's layout and the gradients of (sum of both), packed or through TRL's rows."""
    model.zero_grad()
    with compact_on_cpu():
        if packed:
            out = shared_prompts.logps_and_entropies(model, model, ids, mask, completion_columns, batch_size=5,
                                                     compute_entropy=True, autocast=contextlib.nullcontext)
            assert out is not None
            logps, entropy = out
        else:
            labels = ids.masked_fill(mask == 0, -100)
            labels[:, :-completion_columns] = -100
            out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
            logps, entropy = out.log_probs[:, -completion_columns:], out.entropy[:, -completion_columns:]
    (logps.sum() + entropy.sum()).backward()
    return logps.detach(), entropy.detach(), {name: p.grad.clone() for name, p in params()}


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("lora", [False, True])
def test_packed_rows_give_trls_log_probs_entropies_and_gradients(tiny_model_dir, attn, lora):
    model = fused(tiny_model_dir, attn)
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear",
                                                 task_type="CAUSAL_LM", init_lora_weights=False))
    assert supports(model)

    def params():
        return [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    rows = random_rows(random.Random(3), 7)
    ids, mask = trl_batch(rows, 7)
    trl = scores(model, ids, mask, 7, packed=False, params=params)
    ours = scores(model, ids, mask, 7, packed=True, params=params)
    scored = mask[:, -7:].bool()
    for a, b in zip(trl[:2], ours[:2]):
        torch.testing.assert_close(a[scored], b[scored], rtol=1e-5, atol=1e-5)
        assert not b[~scored].any()  # zeros where TRL has zeros
    assert trl[2].keys() == ours[2].keys() and trl[2]
    for name in trl[2]:  # float rounding: differences far below each gradient's own scale
        a, b = trl[2][name], ours[2][name]
        assert (a - b).abs().max() <= 1e-5 * a.abs().max(), name


@pytest.mark.parametrize("rope", [
    {"rope_type": "dynamic", "factor": 4.0, "rope_theta": 10000.0},
    {"rope_type": "longrope", "rope_theta": 10000.0, "short_factor": [1.0] * 4, "long_factor": [8.0] * 4,
     "original_max_position_embeddings": 16},
], ids=["dynamic-ntk", "longrope"])
def test_rotary_variants_that_scale_with_the_length_see_trls_length(rope):
    # Both choose their frequencies from the batch's largest position id: TRL's rows are 21 wide, past the
    # model's 16, while every real row is shorter; the packed rows must pick the same frequencies.
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=320, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16,
                         rope_parameters=rope, attn_implementation="sdpa", initializer_range=0.5)
    model = LlamaForCausalLM(config)
    trl_utils.add_fused_lm_head(model, outputs=("log_probs", "entropy"))
    rows = [([5, 6, 7], list(range(10, 22))), ([5, 6, 7], [30, 31]), ([8] * 9, [40, 41, 42]), ([8] * 9, [43])]
    ids, mask = trl_batch(rows, 12)
    assert ids.shape[1] > 16 and max(len(p) + len(c) for p, c in rows) <= 16
    trl = scores(model, ids, mask, 12, packed=False, params=lambda: [])
    ours = scores(model, ids, mask, 12, packed=True, params=lambda: [])
    scored = mask[:, -12:].bool()
    torch.testing.assert_close(trl[0][scored], ours[0][scored], rtol=1e-5, atol=1e-5)


def test_a_batch_of_empty_completions_scores_nothing_and_still_backpropagates(tiny_model_dir):
    # mask_truncated_completions can leave a micro-batch with no scored token: zeros, and a gradient of zeros.
    model = fused(tiny_model_dir, "sdpa")
    ids, mask = trl_batch([([7, 8, 9], []), ([7, 8, 9], []), ([7, 8, 9, 10], [])], 4)
    logps, entropy = scores(model, ids, mask, 4, packed=True, params=lambda: [])[:2]
    assert logps.shape == (3, 4) and not logps.any() and not entropy.any()
    assert plan(ids, mask, 0, PROJECTIONS) is None  # TRL reads logits_to_keep 0 as the whole row


def test_models_that_cannot_take_a_block_mask_are_not_packed_and_say_why(tiny_model_dir):
    from transformers import GPT2Config, GPT2LMHeadModel

    assert unsupported(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))) is None
    # Learned absolute positions: TRL's left-padded rows run at shifted positions the packed rows cannot repeat.
    assert "rotary" in unsupported(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)))
    # Attention kernels that take no custom 4D mask.
    flash = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    flash.config._attn_implementation = "flash_attention_2"
    assert "flash_attention_2" in unsupported(flash)
    # A layer that carries state along the sequence outside attention: it would run from one slot into the next.
    hybrid = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    hybrid.model.layers[1].linear_attn = torch.nn.Identity()
    assert "outside attention" in unsupported(hybrid)
    typed = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    typed.config.layer_types = ["full_attention", "linear_attention"]
    assert "linear_attention" in unsupported(typed)
    # A prompt-learning adapter: PEFT puts its virtual tokens and its own 2D mask in front of every row.
    from peft import PromptTuningConfig, get_peft_model

    tuned = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
                           PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3))
    assert "prompt-learning" in unsupported(tuned)
