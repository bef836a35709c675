"""LoRA on CPU: `r1 sft` / `r1 grpo` with use_peft save an adapter; loading, `r1 eval` and `r1 merge` use base + adapter.

Also the guards of what the CPU cannot run (4/8-bit loading, Liger, vLLM): clear errors, not tracebacks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1cli.cli import app
from r1cli.errors import ModelError

runner = CliRunner()


def write_recipe(path: Path, model_dir: Path, data: Path, output: Path, extra: str = "") -> Path:
    path.write_text(f"""\
model_name_or_path: {model_dir}
dataset_name: {data}
use_peft: true
lora_r: 4
lora_alpha: 8
lora_target_modules: [q_proj, v_proj]
max_steps: 2
logging_steps: 1
save_strategy: "no"
learning_rate: 5.0e-2
seed: 0
report_to: none
output_dir: {output}
{extra}""")
    return path


def write_rows(path: Path) -> Path:
    path.write_text("".join(json.dumps({"question": f"What is {i} + 1?", "answer": f"#### {i + 1}",
                                        "completion": f"<think>{i} + 1</think><answer>{i + 1}</answer>"}) + "\n"
                            for i in range(6)))
    return path


@pytest.fixture(scope="module")
def sft_adapter(tmp_path_factory, tiny_model_dir) -> Path:
    """An adapter directory written by `r1 sft` with use_peft (shared by the tests below)."""
    tmp = tmp_path_factory.mktemp("lora-sft")
    recipe = write_recipe(tmp / "sft.yaml", tiny_model_dir, write_rows(tmp / "train.jsonl"), tmp / "run",
                          "per_device_train_batch_size: 2\n")
    result = runner.invoke(app, ["sft", str(recipe), "--no-live"])
    assert result.exit_code == 0, result.output
    return tmp / "run"


def logits(model, tokens):
    import torch

    with torch.no_grad():
        return model(torch.tensor([tokens])).logits


def test_sft_with_lora_saves_an_adapter_not_a_model(sft_adapter, tiny_model_dir):
    assert (sft_adapter / "adapter_model.safetensors").is_file() and not (sft_adapter / "model.safetensors").exists()
    config = json.loads((sft_adapter / "adapter_config.json").read_text())
    assert config["r"] == 4 and config["lora_alpha"] == 8 and set(config["target_modules"]) == {"q_proj", "v_proj"}
    assert Path(config["base_model_name_or_path"]) == Path(tiny_model_dir).resolve()  # absolute: loads from anywhere


def test_loading_an_adapter_dir_gives_base_plus_adapter_merged(sft_adapter, tiny_model_dir):
    from peft import PeftModel

    from r1cli.models import load_model

    merged = load_model(sft_adapter, dtype="float32")
    kept = load_model(sft_adapter, dtype="float32", merge=False)
    base = load_model(tiny_model_dir, dtype="float32")
    assert not isinstance(merged, PeftModel) and isinstance(kept, PeftModel)
    tokens = [5, 17, 42, 7, 99]
    import torch

    assert torch.allclose(logits(merged, tokens), logits(kept, tokens), atol=1e-5)
    assert not torch.allclose(logits(merged, tokens), logits(base, tokens), atol=1e-4)  # the adapter learned something


def test_merge_command_writes_a_plain_checkpoint(sft_adapter, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1cli.models import load_model

    out = tmp_path / "merged"
    result = runner.invoke(app, ["merge", str(sft_adapter), str(out)])
    assert result.exit_code == 0, result.output
    assert f"into {out}" in result.output and not (out / "adapter_config.json").exists()
    plain = AutoModelForCausalLM.from_pretrained(out)  # no peft involved
    AutoTokenizer.from_pretrained(out)
    tokens = [3, 8, 21]
    assert torch.allclose(logits(plain, tokens), logits(load_model(sft_adapter, dtype="float32"), tokens), atol=1e-5)
    again = runner.invoke(app, ["merge", str(sft_adapter), str(out)])
    assert again.exit_code == 1 and "--force" in again.output
    not_adapter = runner.invoke(app, ["merge", str(out), str(tmp_path / "x")])
    assert not_adapter.exit_code == 1 and "not a LoRA adapter" in not_adapter.output


def test_eval_runs_on_the_adapter_like_on_the_merged_model(sft_adapter, tmp_path):
    from r1cli.models.loading import merge_adapter

    merged = merge_adapter(sft_adapter, tmp_path / "merged")
    data = write_rows(tmp_path / "eval.jsonl")
    outputs = []
    for model in (sft_adapter, merged):
        out = tmp_path / f"{model.name}.jsonl"
        result = runner.invoke(app, ["eval", str(model), "--dataset", str(data), "--max-new-tokens", "4",
                                     "--output", str(out), "--json"])
        assert result.exit_code == 0, result.output
        outputs.append([[sample["completion"] for sample in json.loads(line)["samples"]] for line in out.read_text().splitlines()])
    assert len(outputs[0]) == 6 and outputs[0] == outputs[1]  # greedy: the same text from adapter and merged model


def test_adapter_without_tokenizer_uses_the_base_tokenizer(sft_adapter, tmp_path, tiny_model_dir):
    from r1cli.models import load_tokenizer

    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        shutil.copy(sft_adapter / name, bare / name)
    assert load_tokenizer(bare).get_vocab() == load_tokenizer(tiny_model_dir).get_vocab()


def test_grpo_with_lora_trains_and_saves_an_adapter(tmp_path, tiny_model_dir):
    from safetensors.torch import load_file

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(4)))
    # Random completions of one length would all score alike (no advantage, no gradient): rank them instead.
    (tmp_path / "reward.py").write_text("def position(completions, **kwargs):\n"
                                        "    return [float(i % 2) for i in range(len(completions))]\n")
    recipe = write_recipe(tmp_path / "grpo.yaml", tiny_model_dir, data, tmp_path / "run",
                          f"reward_funcs: [{tmp_path / 'reward.py'}:position]\n"
                          "num_generations: 2\nper_device_train_batch_size: 4\nmax_completion_length: 6\n")
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    assert (run / "adapter_config.json").is_file() and not (run / "model.safetensors").exists()
    weights = load_file(run / "adapter_model.safetensors")
    assert weights and all("lora_" in name for name in weights)
    assert any(float(w.abs().max()) > 0 for name, w in weights.items() if "lora_B" in name)  # B starts at zero


# -- what this machine cannot run: refused clearly ------------------------------------------------


def test_quantized_loading_is_refused_without_bitsandbytes_or_a_gpu(monkeypatch):
    import r1cli.hardware
    from r1cli.models.loading import quantization_config

    monkeypatch.setattr(r1cli.hardware, "package_available", lambda name: False)
    with pytest.raises(ModelError, match="bitsandbytes"):
        quantization_config(4)
    monkeypatch.setattr(r1cli.hardware, "package_available", lambda name: name == "bitsandbytes")  # "installed"
    monkeypatch.setattr(r1cli.hardware, "gpu_count", lambda: 0)
    with pytest.raises(ModelError, match="needs a CUDA GPU"):
        quantization_config(8)
    with pytest.raises(ModelError, match="4 or 8 bits"):
        quantization_config(2)


@pytest.mark.parametrize("extra, key, needle", [
    ("load_in_4bit: true\n", "load_in_4bit", "bitsandbytes"),
    ("use_liger_kernel: true\n", "use_liger_kernel", "liger_kernel"),
    ("use_vllm: true\n", "use_vllm", "vllm"),
])
def test_grpo_refuses_accelerators_the_machine_cannot_run(tmp_path, tiny_model_dir, extra, key, needle):
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"problem": "1 + 1?", "answer": "2"}) + "\n")
    recipe = write_recipe(tmp_path / "r.yaml", tiny_model_dir, data, tmp_path / "run", extra)
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
    assert result.exit_code == 1 and key in result.output and needle in result.output
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()


def test_quantization_needs_lora(tmp_path):
    from r1cli.config import validate_recipe

    path = tmp_path / "r.yaml"
    path.write_text("model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\ndataset_name: openai/gsm8k\nload_in_8bit: true\n")
    errors = {f.key: f for f in validate_recipe(path).errors}
    assert "QLoRA" in errors["load_in_8bit"].message and "use_peft: true" in errors["load_in_8bit"].hint
