"""The GRPO loss on a CPU: what the LM head's tile width and activation checkpointing cost.

1. ``head``: TRL's fused LM head (SmolLM2-135M's 49,152 x 576) forward and backward with entropy, at
   TRL's 32,768 vocabulary columns per tile and at r1's CPU width (``fused_head.CPU_TILE_COLUMNS``):
   median seconds (glibc tuned as in training) and the peak memory above the start (measured in a
   second process where every large allocation is its own mapping, so the peak is what was live).
2. ``checkpointing``: the quickstart's loss batch (SmolLM2-135M with the quickstart's LoRA, 4 prompts
   x 4 completions of up to 64 tokens, packed as training packs it) forward and backward with every
   layer checkpointed (TRL's default), none (r1's choice where the activations fit) and selective
   checkpointing that keeps the matrix products' outputs; the three alternate in one process, so the
   machine's drift falls on all of them alike.

    python bench/bench_cpu_loss.py [--positions 1024,4096] [--repeats 6] [--only head|checkpointing]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import statistics
import subprocess
import sys
import time


def _peak_above(start: int) -> int:
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(status["VmHWM"].split()[0]) // 1024 - start


def _rss() -> int:
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(status["VmRSS"].split()[0]) // 1024


def head(positions: int, widths: list[int], repeats: int) -> list[tuple[int, float, int]]:
    import torch
    from trl.kernels import ChunkedLogProbFunction

    torch.manual_seed(0)
    hidden = torch.randn(positions, 576, requires_grad=True)
    weight = torch.randn(49152, 576) * 0.05
    targets = torch.randint(0, 49152, (positions,))
    rows = []
    for width in widths:
        times, peaks = [], []
        for _ in range(repeats):
            open("/proc/self/clear_refs", "w").write("5")  # reset the peak
            start = _rss()
            began = time.perf_counter()
            logps, entropy, *_ = ChunkedLogProbFunction.apply(hidden, weight, None, targets, 1.0, width, None, 1.0,
                                                              ("log_probs", "entropy"))
            (logps.sum() + entropy.sum()).backward()
            hidden.grad = None
            times.append(time.perf_counter() - began)
            peaks.append(_peak_above(start))
        rows.append((width, statistics.median(times[1:]), max(peaks[1:])))
    return rows


def checkpointing(repeats: int) -> dict[str, list[float]]:
    import torch
    from peft import LoraConfig, get_peft_model
    from torch.utils.checkpoint import CheckpointPolicy, create_selective_checkpoint_contexts
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    from r1cli.models.loading import resolve_builtin
    from r1cli.training import shared_prompts
    from r1cli.training.fused_head import compact_on_cpu, narrow_tiles_on_cpu

    model = AutoModelForCausalLM.from_pretrained(resolve_builtin("smollm2-135m-instruct"), attn_implementation="sdpa")
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                             "up_proj", "down_proj"]))
    add_fused_lm_head(model.get_base_model(), temperature=1.0, outputs=("log_probs", "entropy"))
    model.train()
    aten = torch.ops.aten

    def keep_products(ctx, op, *args, **kwargs):
        if op in (aten.mm.default, aten.addmm.default):
            left = args[0] if op is aten.mm.default else args[1]
            if left.shape[-1] >= 128:  # the model's projections, not LoRA's rank-16 ones
                return CheckpointPolicy.MUST_SAVE
        return CheckpointPolicy.PREFER_RECOMPUTE

    modes = {"every layer checkpointed": {"use_reentrant": False}, "none": None,
             "selective (matrix products kept)": {"use_reentrant": False,
                                                  "context_fn": functools.partial(create_selective_checkpoint_contexts,
                                                                                  keep_products)}}
    generator = torch.Generator().manual_seed(0)
    prompt, completion, group, prompts = 90, 64, 4, 4
    ids = torch.cat([torch.randint(100, 40000, (prompts, prompt), generator=generator).repeat_interleave(group, 0),
                     torch.randint(100, 40000, (prompts * group, completion), generator=generator)], 1)
    mask = torch.ones_like(ids)
    for row in range(prompts * group):
        mask[row, prompt + int(torch.randint(20, completion + 1, (1,), generator=generator)):] = 0
    times: dict[str, list[float]] = {name: [] for name in modes}
    for repeat in range(repeats):
        for name, kwargs in modes.items():
            if kwargs is None:
                model.gradient_checkpointing_disable()
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
            began = time.perf_counter()
            with compact_on_cpu(), narrow_tiles_on_cpu(ids.device):
                logps, _ = shared_prompts.logps_and_entropies(model, model, ids, mask, completion, batch_size=None,
                                                              compute_entropy=True, autocast=contextlib.nullcontext)
            logps.sum().backward()
            model.zero_grad(set_to_none=True)
            if repeat:  # the first round pages memory in
                times[name].append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", default="1024,4096")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--only", choices=["head", "checkpointing"])
    parser.add_argument("--head-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from r1cli.training.fused_head import CPU_TILE_COLUMNS

    widths = [32768, CPU_TILE_COLUMNS]
    if args.head_worker is not None:
        if not os.environ.get("MALLOC_MMAP_THRESHOLD_"):
            from r1cli.training.allocator import keep_freed_memory

            keep_freed_memory()
        for width, seconds, peak in head(args.head_worker, widths, 4):
            print(width, seconds, peak)
        return
    if args.only in (None, "head"):
        print("TRL's fused LM head, forward + backward with entropy (median s; peak MiB above the start)")
        for positions in (int(p) for p in args.positions.split(",")):
            worker = [sys.executable, __file__, "--head-worker", str(positions)]
            timed = subprocess.run(worker, capture_output=True, text=True, check=True).stdout.split("\n")
            live = subprocess.run(worker, capture_output=True, text=True, check=True,
                                  env={**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}).stdout.split("\n")
            for t, m in zip(timed, live):
                if t:
                    width, seconds, _ = t.split()
                    print(f"  {positions:5d} positions, {int(width):6d} columns: {float(seconds):6.2f} s, "
                          f"{int(m.split()[2]):6d} MiB")
    if args.only in (None, "checkpointing"):
        times = checkpointing(args.repeats)
        base = statistics.median(times["every layer checkpointed"])
        print(f"The quickstart's loss batch, forward + backward, {args.repeats - 1} alternating rounds (median s)")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:34} {median:6.2f} s  {base / median:5.2f}x the checkpointed speed")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
