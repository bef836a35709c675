"""activations: the estimate of what decoder layers keep for the backward, the budget, and switching checkpointing off."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM  # noqa: E402

from r1cli.training import activations  # noqa: E402


def saved_bytes(model, input_ids) -> int:
    """Bytes autograd keeps for the backward of the decoder's forward (parameters, the embedding's ids and the
    head left out), each storage counted once."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params and t.is_floating_point():
            seen[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model.model(input_ids=input_ids)
    out.last_hidden_state.sum().backward()
    return sum(seen.values())


def llama(**overrides):
    values = dict(vocab_size=300, hidden_size=64, intermediate_size=176, num_hidden_layers=3, num_attention_heads=8,
                  num_key_value_heads=2, max_position_embeddings=512)
    return LlamaForCausalLM(LlamaConfig(**{**values, **overrides}))


@pytest.mark.parametrize("which", ["qwen2-tiny", "llama-gqa", "llama-mha"])
def test_the_estimate_bounds_what_the_layers_keep(tiny_model_dir, which):
    # Measured, not assumed: every tensor autograd saves in a forward without checkpointing. The estimate is an
    # upper bound (it decides whether memory suffices), and a useful one (within 1.6x).
    model = {"qwen2-tiny": lambda: AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
             "llama-gqa": llama, "llama-mha": lambda: llama(num_key_value_heads=8)}[which]()
    model.train()
    ids = torch.randint(3, 250, (4, 96), generator=torch.Generator().manual_seed(0))
    measured = saved_bytes(model, ids)
    estimated = activations.estimate(model.config, ids.numel())
    assert measured <= estimated <= 1.6 * measured, (measured, estimated)


def test_checkpointing_switched_off_within_the_block_and_back_after(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    model.train()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    ids = torch.randint(3, 250, (2, 64), generator=torch.Generator().manual_seed(1))
    checkpointed = saved_bytes(model, ids)
    with activations.kept(model) as switched:
        assert switched >= model.config.num_hidden_layers  # every decoder layer (and the model's own flag)
        kept = saved_bytes(model, ids)
    assert kept > 3 * checkpointed  # the layers' insides, not only their inputs
    assert saved_bytes(model, ids) == checkpointed  # back after the block
    with pytest.raises(RuntimeError):
        with activations.kept(model):
            raise RuntimeError("boom")
    assert saved_bytes(model, ids) == checkpointed
    model.gradient_checkpointing_disable()
    with activations.kept(model) as switched:  # nothing checkpoints: nothing to switch, nothing switched on after
        assert switched == 0
    assert not any(getattr(m, "gradient_checkpointing", False) for m in model.modules())


@pytest.mark.parametrize("values, left", [({}, True), ({"gradient_checkpointing": None}, True),
                                          ({"gradient_checkpointing": True}, False),
                                          ({"activation_checkpointing": False}, False)])
def test_left_to_r1_only_when_neither_key_is_set(values, left):
    assert activations.left_to_r1(values) is left


def test_the_budget_is_a_share_of_the_available_memory(monkeypatch):
    monkeypatch.setattr(activations, "available_memory", lambda: 8 * 2**30)
    assert activations.budget() == int(8 * 2**30 * activations.SHARE_OF_AVAILABLE)
    monkeypatch.setattr(activations, "available_memory", lambda: None)
    assert activations.budget() == 0  # unknown: never skip


def test_available_memory_reads_the_machine():
    available = activations.available_memory()
    assert available is not None and 0 < available <= 2**50
