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
    with activations.checkpointing_off(model) as switched:
        assert switched >= model.config.num_hidden_layers  # every decoder layer (and the model's own flag)
        kept = saved_bytes(model, ids)
    assert kept > 3 * checkpointed  # the layers' insides, not only their inputs
    assert saved_bytes(model, ids) == checkpointed  # back after the block
    with pytest.raises(RuntimeError):
        with activations.checkpointing_off(model):
            raise RuntimeError("boom")
    assert saved_bytes(model, ids) == checkpointed
    model.gradient_checkpointing_disable()
    with activations.checkpointing_off(model) as switched:  # nothing checkpoints: nothing to switch, nothing switched on after
        assert switched == 0
    assert not any(getattr(m, "gradient_checkpointing", False) for m in model.modules())


@pytest.mark.parametrize("values, left", [({}, True), ({"gradient_checkpointing": None}, True),
                                          ({"gradient_checkpointing": True}, False),
                                          ({"activation_checkpointing": False}, False)])
def test_unset_only_when_neither_key_is_set(values, left):
    assert activations.checkpointing_unset(values) is left


def test_the_budget_is_a_share_of_the_available_memory(monkeypatch):
    monkeypatch.setattr(activations, "available_memory", lambda: 8 * 2**30)
    assert activations.budget() == int(8 * 2**30 * activations.SHARE_OF_AVAILABLE)
    assert activations.budget(4) == int(8 * 2**30 * activations.SHARE_OF_AVAILABLE / 4)  # four processes share it
    monkeypatch.setattr(activations, "available_memory", lambda: None)
    assert activations.budget() == 0  # unknown: never skip


def test_available_memory_is_the_smaller_of_the_machine_and_its_container(tmp_path, monkeypatch):
    monkeypatch.setattr(activations, "_meminfo_available", lambda: 8 * 2**30)
    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    monkeypatch.setattr(activations, "CGROUP_FILES", ((str(limit), str(usage)),))
    assert activations.available_memory() == 8 * 2**30  # no cgroup files: the machine's
    limit.write_text("max\n"), usage.write_text(str(2**30))
    assert activations.available_memory() == 8 * 2**30  # no limit
    limit.write_text(str(3 * 2**30))
    assert activations.available_memory() == 2 * 2**30  # a 3 GiB container with 1 GiB used
    usage.write_text(str(4 * 2**30))
    assert activations.available_memory() == 0


@pytest.mark.parametrize("change, reason", [
    (lambda m: setattr(m.config, "_attn_implementation", "eager"), "eager attention"),
    (lambda m: setattr(m.config, "num_local_experts", 8), "experts"),
    (lambda m: setattr(m.config, "layer_types", ["full_attention", "linear_attention"]), "layers other than attention"),
    (lambda m: m.model.layers[0].self_attn.__setattr__("drop", torch.nn.Dropout(0.05)), "dropout"),
    (lambda m: setattr(m.config, "attention_dropout", 0.1), "dropout"),
], ids=["eager", "moe", "linear-attention", "dropout", "attention-dropout"])
def test_models_the_estimate_does_not_bound_keep_checkpointing(tiny_model_dir, change, reason):
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), attn_implementation="sdpa")
    assert activations.not_estimated(model) is None
    change(model)
    assert reason in activations.not_estimated(model)


def test_a_lora_adapter_without_dropout_is_estimated_and_with_dropout_is_not(tiny_model_dir):
    from peft import LoraConfig, get_peft_model

    for dropout, estimated in ((0.0, True), (0.05, False)):
        model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), attn_implementation="sdpa")
        model = get_peft_model(model, LoraConfig(r=4, lora_dropout=dropout, target_modules=["q_proj", "v_proj"],
                                                 task_type="CAUSAL_LM"))
        assert (activations.not_estimated(model) is None) is estimated


def test_a_multimodal_config_is_not_estimated():
    from transformers import LlavaConfig

    class Model(torch.nn.Module):
        config = LlavaConfig()

    assert "multimodal" in activations.not_estimated(Model())
