"""Does the training doctor catch a collapsing run, and does keep_best save the model from before it? Measured.

From the quickstart's SFT model, one GRPO run is made to collapse the way the quickstart's own
notes describe (full fine-tuning, no LoRA, at a learning rate too high for it), with real-time
eval every few steps, ``keep_best: true`` and the doctor on. The script reports the step at
which the doctor flagged the collapse, the checkpoint ``best/`` holds, and the held-out accuracy
(``r1 eval``, the same items and decoding for both, paired bootstrap CI) of the kept model
against the last one. Then a healthy quickstart GRPO run (LoRA, the recipe as shipped, a short
time budget) is checked for false alarms: its metrics.jsonl should hold no doctor finding.

    .venv/bin/python bench/bench_doctor.py                                # SFT from the quickstart first
    .venv/bin/python bench/bench_doctor.py --sft runs/bench-doctor/sft    # reuse an SFT model

Real-time eval runs at step 0 too (``eval_on_start``), so the starting model is the reference the
doctor measures a fall from, and the first best ``keep_best`` holds (``best/`` with ``"step": 0``
when the run only got worse).

CPU, minutes, not CI. The defaults fit a loaded 2-core machine in about half an hour; on a quiet
machine use the issue's sizes: ``--lr 3e-5 --steps 30 --batch 16 --eval-every 3 --eval-samples 64
--limit 200 --num-samples 2 --healthy-minutes 10`` (the healthy run's budget is wall time).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "templates" / "quickstart"
R1 = [sys.executable, "-m", "r1cli"]


def run(cmd: list[str]) -> str:
    print("+", " ".join(cmd), flush=True)
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sft", type=Path, help="SFT model to start from (default: run the quickstart SFT into OUT/sft)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-doctor")
    # Defaults sized for a loaded 2-core machine (~25 minutes); the figures used lr 3e-5 over 28 steps of 16.
    parser.add_argument("--lr", type=float, default=6e-5, help="full fine-tuning learning rate of the collapsing run")
    parser.add_argument("--steps", type=int, default=16, help="steps of the collapsing run")
    parser.add_argument("--batch", type=int, default=8, help="completions per step (num_generations 4: batch/4 prompts)")
    parser.add_argument("--eval-every", type=int, default=4)
    parser.add_argument("--eval-samples", type=int, default=32, help="held-out prompts per real-time eval")
    parser.add_argument("--limit", type=int, default=100, help="held-out items for r1 eval of kept against last")
    parser.add_argument("--num-samples", type=int, default=1, help="r1 eval samples per item (the recipe's temperature)")
    parser.add_argument("--healthy-minutes", type=float, default=0.0,
                        help="budget of a healthy quickstart run to check for false alarms; 0 skips it")
    parser.add_argument("--reuse", action="store_true", help="keep an existing OUT/collapse run (only re-measure)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    sft = args.sft
    if sft is None:
        sft = args.out / "sft"
        run([*R1, "sft", str(RECIPES / "sft.yaml"), "--no-live", "--overwrite", "--set", f"output_dir={sft}"])

    collapse = args.out / "collapse"
    if not (args.reuse and (collapse / "summary.json").is_file()):
        run([*R1, "grpo", str(RECIPES / "grpo.yaml"), "--no-live", "--overwrite",
             "--set", f"model_name_or_path={sft}", "--set", f"output_dir={collapse}",
             "--set", "use_peft=false", "--set", f"learning_rate={args.lr}", "--set", "use_reject_sampling=false",
             "--set", f"max_steps={args.steps}", "--set", f"per_device_train_batch_size={args.batch}",
             "--set", "max_train_minutes=60", "--set", "eval_on_start=true",
             "--set", f"eval_steps={args.eval_every}", "--set", f"max_eval_samples={args.eval_samples}",
             "--set", "save_steps=1000", "--set", "save_total_limit=1",
             "--set", "keep_best=true", "--set", "stop_on_collapse=false"])
    found = [r for r in records(collapse) if r.get("event") == "doctor"]
    evals = [(r["step"], r["eval/accuracy"]) for r in records(collapse) if "eval/accuracy" in r]
    kept = json.loads((collapse / "best" / "keep_best.json").read_text())
    doctor = json.loads(run([*R1, "doctor", str(collapse), "--json"]))

    # The kept model against the last one: same items, same decoding (the recipe's eval_temperature).
    compared = json.loads(run([*R1, "eval", str(collapse / "best"), str(collapse), "-c", str(RECIPES / "grpo.yaml"),
                               "--limit", str(args.limit), "--num-samples", str(args.num_samples), "--batch-size", "64",
                               "--json"]))

    healthy_found = None
    if args.healthy_minutes > 0:
        healthy = args.out / "healthy"
        run([*R1, "grpo", str(RECIPES / "grpo.yaml"), "--no-live", "--overwrite", "--set", f"model_name_or_path={sft}",
             "--set", f"output_dir={healthy}", "--set", f"max_train_minutes={args.healthy_minutes}"])
        healthy_found = {"steps": max(r["step"] for r in records(healthy)),
                         "findings": [r for r in records(healthy) if r.get("event") == "doctor"],
                         "r1 doctor": json.loads(run([*R1, "doctor", str(healthy), "--json"]))["findings"]}

    ci = compared["accuracy_ci"]
    result = {
        "collapsing run": {"lr": args.lr, "steps": args.steps, "eval/accuracy by step": evals},
        "doctor findings (live)": [{"rule": f["rule"], "started": f["started"], "seen_at": f["seen_at"],
                                    "message": f["message"]} for f in found],
        "r1 doctor findings": [(f["rule"], f["step"]) for f in doctor["findings"]],
        "kept": kept,
        "held-out (r1 eval, paired)": {"items": ci["items"], "kept": compared["a"]["metrics"]["accuracy"],
                                       "last": compared["b"]["metrics"]["accuracy"],
                                       "last - kept": ci["difference"], "95% CI": [ci["low"], ci["high"]]},
        "healthy quickstart run": healthy_found,
    }
    print(json.dumps(result, indent=2))
    (args.out / "bench_doctor.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
