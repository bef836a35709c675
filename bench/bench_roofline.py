"""Benchmark: r1's generation against this machine's roofline (issue 18).

Three measurements in one run:

* the machine: fp32 matmul throughput (``torch.matmul``, square GEMMs at a few sizes
  and the decode shape ``batch x hidden @ hidden x intermediate``; best of several) and memory
  bandwidth (a large tensor copy: bytes read + bytes written per second), with torch's
  threads as r1 leaves them (r1 sets no thread count: torch's default);
* the work: the FLOPs and bytes a generation of batch B, prompt P, completion C needs, from
  the model's config (layers, hidden, intermediate, vocab, attention and kv heads): prefill
  of B x P tokens, then one decode step per new token (B tokens, every weight read once per
  step, the KV cache read and its new row written, the logits written). Linear layers
  2 x params FLOPs per token, attention 4 x (heads x head_dim) x context per token and layer,
  the LM head once per new token (generate computes prefill logits for the last position only);
* r1's generation: :func:`r1cli.evaluation.generation.generate` (the path ``r1 eval`` and
  real-time eval use), greedy, ``--batch`` GSM8K prompts in one batch, ``--new-tokens`` new
  tokens, after a small warm-up.

The limit is the roofline: each phase (prefill, each decode step) takes at least
max(FLOPs / peak FLOP/s, bytes / bandwidth); tokens/s at the compute roof and at the memory
roof are printed beside it, and the share of the limit r1 achieves. Tokens are the
positions generated (B x decode steps run, as the batch runs until its longest completion
stops); the tokens completions keep (up to EOS) are printed too. The machine may be shared:
the load average is printed at the start and the end, and a busy machine lowers both the
measured peak and r1's rate.

    .venv/bin/python bench/bench_roofline.py [--model DIR] [--batch 64] [--new-tokens 64] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"
BYTES = 4  # float32


def model_dir(explicit: str | None) -> Path:
    """A checkpoint directory: ``--model``, else r1's built-in SmolLM2-135M-Instruct (converted once, cached)."""
    if explicit:
        return Path(explicit)
    from r1cli.errors import ModelError
    from r1cli.models.loading import resolve_builtin

    try:
        return resolve_builtin("smollm2-135m-instruct")
    except ModelError as exc:
        sys.exit(f"{exc.message} ({exc.hint}), or pass --model DIR")


# -- the machine ---------------------------------------------------------------------------


def best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: allocation, kernel choice
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_gflops(m: int, k: int, n: int, repeats: int) -> float:
    import torch

    a, b = torch.randn(m, k), torch.randn(k, n)
    out = torch.empty(m, n)
    seconds = best_seconds(lambda: torch.matmul(a, b, out=out), repeats)
    return 2 * m * k * n / seconds / 1e9


def copy_gb_per_s(mib: int, repeats: int) -> float:
    import torch

    src = torch.ones(mib * 2**20 // BYTES)
    dst = torch.empty_like(src)
    seconds = best_seconds(lambda: dst.copy_(src), repeats)
    return 2 * src.numel() * BYTES / seconds / 1e9  # read + write


# -- the work --------------------------------------------------------------------------------


@dataclass
class Shape:
    layers: int
    hidden: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    head_dim: int

    @classmethod
    def of(cls, config) -> Shape:
        heads = config.num_attention_heads
        return cls(config.num_hidden_layers, config.hidden_size, config.intermediate_size, config.vocab_size, heads,
                   getattr(config, "num_key_value_heads", None) or heads,
                   getattr(config, "head_dim", None) or config.hidden_size // heads)

    @property
    def layer_params(self) -> int:
        """Linear weights of one decoder layer: q, k, v, o projections and a gated MLP (gate, up, down)."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return self.hidden * q + 2 * self.hidden * kv + q * self.hidden + 3 * self.hidden * self.intermediate

    @property
    def weights(self) -> int:
        """Weights every decode step reads: all layers and the LM head (the embedding rows read are negligible)."""
        return self.layers * self.layer_params + self.vocab * self.hidden

    def token_flops(self, context: int) -> float:
        """One token through the layers at ``context`` positions of attention (no LM head)."""
        return self.layers * (2 * self.layer_params + 4 * self.heads * self.head_dim * context)

    @property
    def head_flops(self) -> float:
        return 2 * self.hidden * self.vocab

    def kv_bytes(self, positions: int) -> float:
        return self.layers * 2 * self.kv_heads * self.head_dim * positions * BYTES


@dataclass
class Work:
    flops: float
    bytes: float


def generation_work(shape: Shape, batch: int, prompt: int, steps: int) -> list[Work]:
    """Prefill, then one entry per decode step: ``steps`` new tokens per sequence in all."""
    prefill = Work(
        batch * (sum(shape.token_flops(t) for t in range(1, prompt + 1)) + shape.head_flops),
        (shape.weights + batch * shape.vocab) * BYTES + batch * shape.kv_bytes(prompt) + batch * prompt * shape.hidden * BYTES,
    )
    phases = [prefill]
    for j in range(1, steps):  # the first new token came out of the prefill
        context = prompt + j
        phases.append(Work(
            batch * (shape.token_flops(context) + shape.head_flops),
            shape.weights * BYTES + batch * (shape.kv_bytes(context) + shape.vocab * BYTES),
        ))
    return phases


# -- r1's generation --------------------------------------------------------------------------


def prompts(n: int) -> list[list[dict]]:
    if not DATA.is_file():
        sys.exit(f"{DATA} not found: the bench generates for GSM8K test questions")
    with open(DATA, encoding="utf-8") as handle:
        questions = [json.loads(line)["question"] for _, line in zip(range(n), handle)]
    if len(questions) < n:
        sys.exit(f"{DATA} has {len(questions)} questions; --batch {n} needs that many")
    return [[{"role": "user", "content": q}] for q in questions]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a checkpoint directory (default: r1's built-in smollm2-135m-instruct)")
    parser.add_argument("--batch", type=int, help="prompts generated together (default 64; --quick 16)")
    parser.add_argument("--new-tokens", type=int, help="max new tokens (default 64; --quick 16)")
    parser.add_argument("--quick", action="store_true", help="smaller GEMMs, copy and generation: a smoke run")
    args = parser.parse_args()
    batch = args.batch or (16 if args.quick else 64)
    new_tokens = args.new_tokens or (16 if args.quick else 64)
    load_start = os.getloadavg()

    import torch

    from r1cli.evaluation.generation import generate, render_prompt
    from r1cli.models import load_model, load_tokenizer

    path = model_dir(args.model)
    tokenizer, model = load_tokenizer(path), load_model(path, dtype="float32")
    shape = Shape.of(model.config)

    # The machine.
    repeats = 3 if args.quick else 5
    sizes = (256, 512, 1024) if args.quick else (256, 512, 1024, 2048)
    gemms = {f"{n}x{n}x{n}": gemm_gflops(n, n, n, repeats) for n in sizes}
    decode_label = f"decode {batch}x{shape.hidden}x{shape.intermediate}"
    gemms[decode_label] = gemm_gflops(batch, shape.hidden, shape.intermediate, repeats * 4)
    peak = max(gemms.values())
    bandwidth = copy_gb_per_s(64 if args.quick else 256, repeats)

    # r1's generation.
    batch_prompts = prompts(batch)
    generate(model, tokenizer, batch_prompts[:2], max_new_tokens=4, batch_size=2)  # warm-up
    start = time.perf_counter()
    results = generate(model, tokenizer, batch_prompts, max_new_tokens=new_tokens, batch_size=batch)
    seconds = time.perf_counter() - start
    kept = sum(c.num_tokens for samples in results for c in samples)
    steps = max(c.num_tokens for samples in results for c in samples)  # decode steps the batch ran
    prompt_len = max(len(tokenizer(render_prompt(tokenizer, p), add_special_tokens=False)["input_ids"])
                     for p in batch_prompts)  # left-padded to the longest
    load_end = os.getloadavg()

    # The work and the limit.
    work = generation_work(shape, batch, prompt_len, steps)
    flops, moved = sum(w.flops for w in work), sum(w.bytes for w in work)
    positions = batch * steps
    roof_seconds = sum(max(w.flops / (peak * 1e9), w.bytes / (bandwidth * 1e9)) for w in work)
    compute_rate, memory_rate = positions / (flops / (peak * 1e9)), positions / (moved / (bandwidth * 1e9))
    limit, measured = positions / roof_seconds, positions / seconds

    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads "
          f"(r1 sets none: torch's default); load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} "
          f"at start, {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} at end")
    print("fp32 matmul (best of several):")
    for label, gflops in gemms.items():
        print(f"  {label:28} {gflops:9.1f} GFLOP/s")
    print(f"memory bandwidth (tensor copy, read + write): {bandwidth:.1f} GB/s")
    print(f"model: {path.name}: {shape.layers} layers, hidden {shape.hidden}, intermediate {shape.intermediate}, "
          f"vocab {shape.vocab}, {shape.heads} heads / {shape.kv_heads} kv heads x {shape.head_dim}; "
          f"{shape.weights / 1e6:.1f}M weights read per decode step ({shape.weights * BYTES / 2**20:.0f} MiB fp32)")
    print(f"work: batch {batch}, prompt {prompt_len} (padded), {steps} decode steps (max_new_tokens {new_tokens}): "
          f"{flops / 1e12:.3f} TFLOP, {moved / 1e9:.2f} GB moved "
          f"(prefill {work[0].flops / 1e12:.3f} TFLOP; per decode step {work[-1].flops / 1e9:.1f} GFLOP, "
          f"{work[-1].bytes / 1e6:.0f} MB at the last)")
    print(f"{'':30} {'tokens/s':>10} {'seconds':>9}")
    print(f"{'compute roof':30} {compute_rate:10.1f} {positions / compute_rate:9.2f}")
    print(f"{'memory roof':30} {memory_rate:10.1f} {positions / memory_rate:9.2f}")
    print(f"{'roofline limit (max per phase)':30} {limit:10.1f} {roof_seconds:9.2f}")
    print(f"{'r1 generate (measured)':30} {measured:10.1f} {seconds:9.2f}")
    print(f"r1 achieves {measured / limit:.1%} of the limit ({positions} positions generated, "
          f"{kept} kept up to EOS: {kept / seconds:.1f} kept tokens/s)")


if __name__ == "__main__":
    main()
