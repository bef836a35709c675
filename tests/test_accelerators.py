"""vLLM, QLoRA, Liger, DeepSpeed and FSDP: guarded on CPU, run for real where a GPU is present.

The CPU tests check the guards and the vLLM server command (TRL's, built
without vLLM installed). Tests marked ``gpu`` skip with the reason on a machine
without CUDA (or without the package they need); on a GPU machine they run
short real trainings through the CLI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

import r1cli.hardware
from r1cli.cli import app
from r1cli.errors import ModelError

runner = CliRunner()


def cuda_devices() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def needs(gpus: int = 1, *packages: str):
    """Skip unless this many CUDA GPUs and these packages are here; the reason names what is missing."""
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    found = cuda_devices()
    reason = f"needs {gpus} CUDA GPU(s), found {found}" if found < gpus else f"needs {', '.join(missing)}"
    return pytest.mark.skipif(found < gpus or bool(missing), reason=reason)


# -- vLLM on CPU: clear refusals, and the server command TRL would run ------------------------------


def test_vllm_is_refused_without_the_package_or_a_gpu(monkeypatch):
    from r1cli.training.vllm_server import check_vllm

    monkeypatch.setattr(r1cli.hardware, "package_available", lambda name: False)
    with pytest.raises(ModelError, match="needs the `vllm` package") as missing:
        check_vllm()
    assert "r1cli[vllm]" in missing.value.hint
    monkeypatch.setattr(r1cli.hardware, "package_available", lambda name: True)
    monkeypatch.setattr(r1cli.hardware, "gpu_count", lambda: 0)
    with pytest.raises(ModelError, match="needs an NVIDIA GPU"):
        check_vllm()


def test_vllm_usable_is_decided_in_one_place(monkeypatch, tmp_path):
    """hardware.vllm_problem says whether vLLM can run; validate, `eval --backend vllm` and `vllm-serve` all ask it."""
    from r1cli.config import validate_recipe
    from r1cli.evaluation.vllm_backend import check_available
    from r1cli.hardware import Unusable, vllm_problem
    from r1cli.training.vllm_server import check_vllm

    monkeypatch.setattr(r1cli.hardware, "package_available", lambda name: name != "vllm")
    monkeypatch.setattr(r1cli.hardware, "gpu_count", lambda: 1)
    assert vllm_problem() == Unusable("vllm", "package") and "not installed" in vllm_problem().reason
    monkeypatch.setattr(r1cli.hardware, "package_available", lambda name: True)
    monkeypatch.setattr(r1cli.hardware, "gpu_count", lambda: 0)
    assert vllm_problem() == Unusable("vllm", "gpu") and "NVIDIA GPU" in vllm_problem().reason
    monkeypatch.setattr(r1cli.hardware, "gpu_count", lambda: 1)
    assert vllm_problem() is None

    recipe = tmp_path / "r.yaml"
    recipe.write_text("model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\ndataset_name: openai/gsm8k\nuse_vllm: true\n")
    for verdict in (Unusable("vllm", "gpu"), Unusable("vllm", "package"), None):
        monkeypatch.setattr(r1cli.hardware, "vllm_problem", lambda verdict=verdict: verdict)
        findings = [f for f in validate_recipe(recipe).machine if f.key == "use_vllm"]
        for check in (check_available, check_vllm):
            if verdict is None:
                check()
            else:
                with pytest.raises(ModelError, match=verdict.reason):
                    check()
        assert [f.message for f in findings] == ([] if verdict is None else [f"vLLM generation needs {verdict.reason}"])


def test_vllm_serve_command_refuses_on_cpu():
    if importlib.util.find_spec("vllm") is not None and r1cli.hardware.has_gpu():
        pytest.skip("vLLM and a GPU are here: the command would really start a server")
    result = runner.invoke(app, ["vllm-serve", "Qwen/Qwen2.5-0.5B-Instruct"])
    assert result.exit_code == 1 and "r1 vllm-serve needs" in result.output and "Traceback" not in result.output


def test_vllm_server_command_is_trls(tiny_model_dir, tmp_path):
    from r1cli.training.vllm_server import serve_command

    argv, env = serve_command(str(tiny_model_dir), port=8123, tensor_parallel_size=2, max_model_len=512)
    assert argv[1:5] == ["-m", "vllm.entrypoints.cli.main", "serve", str(tiny_model_dir)]
    pairs = dict(zip(argv[5::2], argv[6::2]))
    assert pairs["--port"] == "8123" and pairs["--tensor-parallel-size"] == "2" and pairs["--max-model-len"] == "512"
    assert "--weight-transfer-config" in argv and env["VLLM_SERVER_DEV_MODE"] == "1"  # what training needs from it
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_model_dir)}))
    with pytest.raises(ModelError, match="LoRA adapter") as refused:
        serve_command(str(adapter))
    assert "r1 merge" in refused.value.hint


# -- GPU only ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpu_model(tmp_path_factory) -> Path:
    """The tiny model with 64-wide attention heads, which GPU kernels (vLLM, flash attention) accept."""
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("gpu-model"), hidden_size=256)


def gpu_recipe(tmp_path: Path, model: Path, extra: str) -> Path:
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1),
                                        "completion": f"<answer>{i + 1}</answer>"}) + "\n" for i in range(16)))
    (tmp_path / "reward.py").write_text("def position(completions, **kwargs):\n"
                                        "    return [float(i % 2) for i in range(len(completions))]\n")
    path = tmp_path / "recipe.yaml"
    path.write_text(f"""\
model_name_or_path: {model}
dataset_name: {data}
reward_funcs: [{tmp_path / 'reward.py'}:position]
num_generations: 2
per_device_train_batch_size: 4
max_completion_length: 8
max_steps: 2
logging_steps: 1
save_strategy: "no"
report_to: none
output_dir: {tmp_path / 'run'}
{extra}""")
    return path


def r1(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    done = subprocess.run([sys.executable, "-m", "r1cli", *args, "--no-live"], capture_output=True, text=True,
                          timeout=timeout, env=clean)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done


def trained_steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines() if "loss" in line]


@pytest.mark.gpu
@needs(1, "vllm")
def test_grpo_with_vllm_colocated(tmp_path, gpu_model):
    recipe = gpu_recipe(tmp_path, gpu_model, "use_vllm: true\nvllm_mode: colocate\nvllm_gpu_memory_utilization: 0.2\n"
                                             "vllm_max_model_length: 256\nuse_reject_sampling: true\n")
    r1("grpo", str(recipe))
    assert trained_steps(tmp_path / "run") == [1, 2]


@pytest.mark.gpu
@needs(1, "vllm")
def test_vllm_serve_answers(tmp_path, gpu_model):
    port = 8177
    server = subprocess.Popen([sys.executable, "-m", "r1cli", "vllm-serve", str(gpu_model), "--port", str(port),
                               "--gpu-memory-utilization", "0.2", "--max-model-len", "256"])
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert server.poll() is None, "the server exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                    assert response.status == 200
                    return
            except OSError:
                time.sleep(2)
        pytest.fail("the vLLM server did not answer within 10 minutes")
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.mark.gpu
@needs(1, "bitsandbytes")
def test_grpo_with_qlora(tmp_path, gpu_model):
    recipe = gpu_recipe(tmp_path, gpu_model, "use_peft: true\nload_in_4bit: true\nlora_r: 8\n")
    r1("grpo", str(recipe))
    assert (tmp_path / "run" / "adapter_config.json").is_file() and trained_steps(tmp_path / "run") == [1, 2]


@pytest.mark.gpu
@needs(1, "liger_kernel")
def test_sft_with_liger_kernels(tmp_path, gpu_model):
    recipe = gpu_recipe(tmp_path, gpu_model, "use_liger_kernel: true\n")
    r1("sft", str(recipe))
    assert trained_steps(tmp_path / "run") == [1, 2]


@pytest.mark.gpu
@pytest.mark.parametrize("name, packages", [("ddp", ()), ("zero2", ("deepspeed",)), ("zero3", ("deepspeed",)),
                                            ("fsdp", ())])
def test_grpo_on_two_gpus(tmp_path, gpu_model, name, packages):
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if cuda_devices() < 2 or missing:
        pytest.skip(f"needs 2 CUDA GPUs (found {cuda_devices()})" + (f" and {', '.join(missing)}" if missing else ""))
    recipe = gpu_recipe(tmp_path, gpu_model, "use_reject_sampling: true\n")
    done = r1("grpo", str(recipe), "--accelerate-config", name, "--num-processes", "2", "--main-process-port", "0")
    run = tmp_path / "run"
    assert trained_steps(run) == [1, 2] and done.stdout.count("done: ") == 1
    assert (run / "model.safetensors").is_file()  # one plain checkpoint, whatever the sharding
