"""Memory and step estimates, checked against hand-computed values."""

from __future__ import annotations

from r1cli.training.memory import ModelShape, estimate_memory, plan_steps
from r1cli.ui.console import human_bytes

SHAPE = ModelShape(parameters=1_000_000, trainable=1_000_000, layers=2, kv_heads=2, head_dim=16)


def test_bf16_grpo_with_reference_model():
    est = estimate_memory(SHAPE, dtype="bfloat16", beta=0.04, grpo=True, generation_batch=8, sequence_length=100)
    assert est.weights == 2_000_000
    assert est.gradients == 2_000_000
    assert est.optimizer == 12_000_000  # two fp32 moments + fp32 master copy
    assert est.reference_model == 2_000_000
    assert est.generation_cache == 2 * 2 * 2 * 16 * 100 * 8 * 2  # K and V, layers, heads, dim, tokens, batch, bytes
    assert est.total == 18_000_000 + 204_800


def test_fp32_without_reference_or_cache_for_sft_and_lora():
    lora = ModelShape(parameters=1_000_000, trainable=10_000, layers=2, kv_heads=2, head_dim=16)
    est = estimate_memory(lora, dtype="float32", beta=0.0, grpo=False, generation_batch=8, sequence_length=100)
    assert (est.weights, est.gradients, est.optimizer, est.reference_model, est.generation_cache) == (4_000_000, 40_000, 80_000, 0, 0)


def test_plan_steps_grpo_and_sft():
    grpo = plan_steps(rows=100, per_device_batch=8, grad_accum=2, processes=2, num_generations=4, max_steps=-1, epochs=1)
    assert grpo.samples_per_step == 8 and grpo.steps_per_epoch == 13 and grpo.total_steps == 13
    capped = plan_steps(rows=100, per_device_batch=8, grad_accum=1, processes=1, num_generations=4, max_steps=25, epochs=3)
    assert capped.total_steps == 25 and capped.epochs == 0.5
    sft = plan_steps(rows=10, per_device_batch=4, grad_accum=1, processes=1, num_generations=None, max_steps=-1, epochs=2)
    assert sft.samples_per_step == 4 and sft.total_steps == 6


def test_human_bytes():
    assert human_bytes(512) == "512 B" and human_bytes(1536) == "1.50 KiB" and human_bytes(3 * 1024**3) == "3.00 GiB"
