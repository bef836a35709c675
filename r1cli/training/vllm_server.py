"""The vLLM generation server for GRPO's ``vllm_mode: server``, through TRL's own server command.

With ``use_vllm: true`` and ``vllm_mode: server``, the trainer sends prompts
to a vLLM server on other GPUs and pushes its updated weights to it after each
step. TRL knows which flags that server needs (weight transfer, log-probs
mode...); :func:`serve_command` asks TRL for the command and :func:`serve`
replaces this process with it (``r1 vllm-serve MODEL``):

    argv, env = serve_command("Qwen/Qwen2.5-1.5B-Instruct", port=8000, tensor_parallel_size=1)

``vllm_mode: colocate`` needs no server: each training process runs vLLM on
its own GPU. Either way vLLM needs the ``vllm`` package and a CUDA GPU;
:func:`check_vllm` says so clearly before anything starts.
"""

from __future__ import annotations

import os
from typing import Any

from r1cli.errors import ModelError


def check_vllm(what: str = "vLLM generation") -> None:
    """:class:`ModelError` unless vLLM can run here (the same check as ``r1 eval --backend vllm``)."""
    from r1cli.evaluation.vllm_backend import check_available

    check_available(what, instead=None)


def serve_command(model: str, *, host: str = "0.0.0.0", port: int = 8000, tensor_parallel_size: int = 1,
                  data_parallel_size: int = 1, gpu_memory_utilization: float = 0.9, dtype: str = "auto",
                  max_model_len: int | None = None, trust_remote_code: bool = False) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of TRL's vLLM server for ``model`` (a hub id, a directory or a built-in name)."""
    from r1cli.models.loading import is_adapter_dir, resolve_source

    source, gguf = resolve_source(model)
    if gguf is not None:
        raise ModelError(f"{model} is a GGUF file; the vLLM server for training serves a Hugging Face checkpoint",
                         hint="point it at the model's directory or hub id")
    if is_adapter_dir(source):
        raise ModelError(f"{model} is a LoRA adapter; the server needs the full model",
                         hint=f"serve its base model, or merge it first: r1 merge {model} MERGED_DIR")
    from trl.scripts.vllm_serve import ScriptArguments, build_command

    args: dict[str, Any] = dict(model=source, host=host, port=port, tensor_parallel_size=tensor_parallel_size,
                                data_parallel_size=data_parallel_size, gpu_memory_utilization=gpu_memory_utilization,
                                dtype=dtype, max_model_len=max_model_len, trust_remote_code=trust_remote_code)
    argv = build_command(ScriptArguments(**args))
    # What `trl vllm-serve` sets: the weight-transfer endpoints trainers use live behind vLLM's dev mode.
    env = {**os.environ, "VLLM_SERVER_DEV_MODE": "1"}
    return argv, env


def serve(model: str, **options: Any) -> None:
    """Check, then replace this process with the vLLM server (it runs until stopped)."""
    check_vllm("r1 vllm-serve")
    argv, env = serve_command(model, **options)
    os.execve(argv[0], argv, env)
