"""Generation with vLLM, behind ``r1 eval --backend vllm``.

Returns exactly what :func:`r1cli.evaluation.generation.generate` returns (one
list of :class:`Completion` per prompt, in input order), so scoring and
metrics do not know which backend ran. Prompts are rendered with r1's own
tokenizer (so ``--config``'s chat template applies) and handed to vLLM as
token ids: vLLM would otherwise tokenize the text again and could add a second
BOS token. Sampling uses a per-request seed, so results do not depend on how
vLLM schedules its batches.

vLLM needs an NVIDIA GPU and the ``vllm`` package; :func:`check_available`
says which is missing, as an :class:`R1Error`, before anything is loaded.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from r1cli.errors import ModelError
from r1cli.evaluation.generation import Completion, GenerationProgress, Prompt, render_prompt

# Prompts handed to vLLM per call: large enough for its scheduler to batch well, small enough for a live progress bar.
CHUNK_PROMPTS = 256


def check_available(what: str = "--backend vllm", instead: str | None = "use --backend transformers") -> None:
    """Raise :class:`ModelError` unless vLLM can run here (:func:`r1cli.hardware.vllm_problem` decides).

    ``what`` names what needs vLLM in the message; ``instead`` is the way out this command offers, if any.
    """
    from r1cli.hardware import vllm_problem

    problem = vllm_problem()
    if problem is None:
        return
    if problem.missing == "package":
        hint = "pip install 'r1cli[vllm]' on a machine with an NVIDIA GPU"
    else:
        hint = "run it on a GPU machine (check nvidia-smi and CUDA_VISIBLE_DEVICES)"
    raise ModelError(f"{what} needs {problem.reason}", hint=f"{hint}, or {instead}" if instead else hint)


def generate(
    model: str,
    tokenizer,
    prompts: Sequence[Prompt],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    num_samples: int = 1,
    seed: int | None = None,
    gguf_file: str | None = None,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    progress: Callable[[GenerationProgress], Any] | None = None,
    chat_template_kwargs: dict | None = None,
) -> list[list[Completion]]:
    """``num_samples`` completions per prompt from vLLM; same contract as the transformers path."""
    check_available()
    from vllm import LLM, SamplingParams

    from r1cli.models import resolve_source

    source, gguf = resolve_source(model, gguf_file)
    # vLLM takes a GGUF checkpoint as the file itself, with the tokenizer read from it.
    path = str(Path(source) / gguf) if gguf is not None else source
    llm = LLM(model=path, dtype=dtype, seed=seed or 0, trust_remote_code=trust_remote_code)
    try:
        params = SamplingParams(
            n=num_samples, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
            max_tokens=max_new_tokens, seed=seed, skip_special_tokens=True,
        )
        encoded = [
            {"prompt_token_ids": tokenizer(render_prompt(tokenizer, p, chat_template_kwargs), add_special_tokens=False)["input_ids"]}
            for p in prompts
        ]
        results: list[list[Completion]] = []
        tokens = 0
        started = time.perf_counter()
        for begin in range(0, len(encoded), CHUNK_PROMPTS):
            outputs = llm.generate(encoded[begin : begin + CHUNK_PROMPTS], params, use_tqdm=False)
            for request in outputs:
                samples = [Completion(o.text, list(o.token_ids), o.finish_reason == "stop") for o in request.outputs]
                tokens += sum(c.num_tokens for c in samples)
                results.append(samples)
            if progress is not None:
                progress(GenerationProgress(len(results), len(encoded), tokens, time.perf_counter() - started))
        return results
    finally:
        # Free the GPU before a second model (r1 eval A B) is loaded in this process.
        del llm
        gc.collect()
        _empty_cuda_cache()


def _empty_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
