"""LoRA layers computing with merged weights inside a block (r1cli.models.lora_merge)."""

from __future__ import annotations

import pytest

from r1cli.models.lora_merge import merged_lora

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")


def lora_model(tiny_model_dir, dropout: float):
    from r1cli.models import load_model

    config = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=dropout, target_modules=["q_proj", "v_proj", "up_proj"],
                             init_lora_weights=False)  # B != 0: the adapter really changes the output
    return peft.get_peft_model(load_model(tiny_model_dir), config)


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_merged_layers_compute_the_same_function_and_are_restored(tiny_model_dir):
    model = lora_model(tiny_model_dir, dropout=0.0)
    model.train()  # p = 0: train mode changes nothing
    ids = torch.tensor([[5, 9, 17, 33, 2, 8]])
    base = model.base_model.model.model.layers[0].self_attn.q_proj.base_layer.weight.clone()
    adapted = logits(model, ids)
    with model.disable_adapter():
        plain = logits(model, ids)
    assert not torch.allclose(adapted, plain, atol=1e-4)  # the adapter matters
    with merged_lora(model) as merged:
        assert merged
        inside = logits(model, ids)
    torch.testing.assert_close(inside, adapted, rtol=1e-5, atol=1e-5)
    layer = model.base_model.model.model.layers[0].self_attn.q_proj
    assert "forward" not in vars(layer) and torch.equal(layer.base_layer.weight, base)  # restored, base untouched
    torch.testing.assert_close(logits(model, ids), adapted, rtol=0, atol=0)


def test_active_dropout_leaves_the_model_as_it_is(tiny_model_dir):
    model = lora_model(tiny_model_dir, dropout=0.1)
    model.train()  # dropout active: merged weights would be another distribution
    with merged_lora(model) as merged:
        assert not merged
        layer = model.base_model.model.model.layers[0].self_attn.q_proj
        assert "forward" not in vars(layer)
    model.eval()  # dropout off in eval mode: merging is exact again
    with merged_lora(model) as merged:
        assert merged


def test_a_model_without_lora_is_left_alone(tiny_model_dir):
    from r1cli.models import load_model

    with merged_lora(load_model(tiny_model_dir)) as merged:
        assert not merged


def test_greedy_decoding_with_a_merged_adapter_gives_the_adapters_tokens(tiny_model_dir):
    from r1cli.evaluation.decoding import Sampling, decode

    model = lora_model(tiny_model_dir, dropout=0.0)
    model.eval()
    prompts = [[5, 9, 17, 33], [5, 9, 40], [7]]
    with torch.no_grad():
        got = decode(model, prompts, max_new_tokens=8, sampling=Sampling(), stop_ids=set(), pad_id=0)
        expected = [model.generate(input_ids=torch.tensor([p]), max_new_tokens=8, do_sample=False, pad_token_id=0,
                                   eos_token_id=None)[0, len(p):].tolist() for p in prompts]
    assert got == expected
