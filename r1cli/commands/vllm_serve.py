"""`r1 vllm-serve MODEL`: the vLLM generation server for GRPO's `vllm_mode: server` (TRL's server, checked first)."""

from __future__ import annotations

from typing import Annotated

import typer


def vllm_serve(
    model: Annotated[str, typer.Argument(help="Model to serve: hub id, local directory or built-in name; the same "
                                         "model_name_or_path the recipe trains.", metavar="MODEL", show_default=False)],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port (the recipe's vllm_server_port).")] = 8000,
    tensor_parallel_size: Annotated[int, typer.Option("--tensor-parallel-size", min=1,
                                                      help="GPUs one copy of the model is split over.")] = 1,
    data_parallel_size: Annotated[int, typer.Option("--data-parallel-size", min=1,
                                                    help="Copies of the model serving in parallel.")] = 1,
    gpu_memory_utilization: Annotated[float, typer.Option("--gpu-memory-utilization", min=0.05, max=1.0,
                                                          help="Share of each GPU's memory vLLM may take.")] = 0.9,
    dtype: Annotated[str, typer.Option("--dtype", help="Weights dtype: auto, bfloat16, float16.")] = "auto",
    max_model_len: Annotated[int | None, typer.Option("--max-model-len", min=1, show_default=False,
                                                      help="Longest prompt + completion (default: the model's).")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Run code shipped with the model.")] = False,
) -> None:
    """Serve a model with vLLM for GRPO training on other GPUs (use_vllm: true, vllm_mode: server)."""
    from r1cli.training.vllm_server import serve

    serve(model, host=host, port=port, tensor_parallel_size=tensor_parallel_size, data_parallel_size=data_parallel_size,
          gpu_memory_utilization=gpu_memory_utilization, dtype=dtype, max_model_len=max_model_len,
          trust_remote_code=trust_remote_code)
