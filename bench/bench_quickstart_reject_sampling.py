"""Does reject sampling help the quickstart's GRPO at the same wall-time budget? Measured, not assumed.

From one SFT model, GRPO runs once per reject-sampling setting (off, resample, refill) with
the quickstart recipe, each stopped by the same ``max_train_minutes``. Each GRPO model is then
evaluated on the same held-out items with the same decoding as the SFT model (``r1 eval
--baseline``), and the share of prompt groups that reached the loss with zero reward spread
(no learning signal) is read from the run's metrics.jsonl.

    .venv/bin/python bench/bench_quickstart_reject_sampling.py                # SFT from the quickstart first
    .venv/bin/python bench/bench_quickstart_reject_sampling.py --sft runs/quickstart/sft --minutes 10

Run it alone on the machine: the budget is wall time, so anything else running takes steps away.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "templates" / "quickstart"
R1 = [sys.executable, "-m", "r1cli"]
MODES = {
    "off": ["--set", "use_reject_sampling=false"],
    "resample": ["--set", "use_reject_sampling=true", "--set", "reject_sampling_mode=resample"],
    "refill": ["--set", "use_reject_sampling=true", "--set", "reject_sampling_mode=refill"],
}


def run(cmd: list[str]) -> str:
    print("+", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def zero_spread_share(run_dir: Path) -> tuple[float | None, float | None]:
    """Mean share of zero-spread groups per step: as first generated, and as they reached the loss."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    before = [r["reject_sampling/zero_spread_frac_before"] for r in records if "reject_sampling/zero_spread_frac_before" in r]
    after = [r["reject_sampling/zero_spread_frac_after"] for r in records if "reject_sampling/zero_spread_frac_after" in r]
    if not before:  # reject sampling off: TRL's own figure is both
        before = after = [r["frac_reward_zero_std"] for r in records if "frac_reward_zero_std" in r]
    mean = lambda xs: round(statistics.fmean(xs), 3) if xs else None  # noqa: E731
    return mean(before), mean(after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sft", type=Path, help="SFT model to start from (default: run the quickstart SFT into OUT/sft)")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-time budget of each GRPO run")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-reject-sampling")
    parser.add_argument("--limit", type=int, default=200, help="held-out items evaluated")
    parser.add_argument("--modes", default="off,resample,refill")
    parser.add_argument("--sft-eval", type=Path, help="an existing `r1 eval --output` of the SFT model, as make demo writes")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra --set for every GRPO run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    sft = args.sft
    if sft is None:
        sft = args.out / "sft"
        run([*R1, "sft", str(RECIPES / "sft.yaml"), "--no-live", "--overwrite", "--set", f"output_dir={sft}"])
    # As `make demo` evaluates: the recipe's eval_temperature, two samples per held-out item.
    eval_args = ["-c", str(RECIPES / "grpo.yaml"), "--limit", str(args.limit), "--num-samples", "2", "--batch-size", "64",
                 "--json"]
    if args.sft_eval:
        baseline = args.sft_eval
        before = json.loads(run([*R1, "eval", "--completions", str(baseline), "--json"]))
        before["settings"] = json.loads(baseline.read_text().splitlines()[0])["decoding"]
    else:
        baseline = args.out / "eval-sft.jsonl"
        before = json.loads(run([*R1, "eval", str(sft), *eval_args, "--output", str(baseline), "--force"]))
    results = {"sft": {"model": str(sft), "accuracy": before["metrics"]["accuracy"]}, "minutes": args.minutes,
               "decoding": before["settings"], "modes": {}}

    for mode in args.modes.split(","):
        run_dir = args.out / f"grpo-{mode}"
        extra = [item for value in args.overrides for item in ("--set", value)]
        run([*R1, "grpo", str(RECIPES / "grpo.yaml"), "--no-live", "--overwrite", "--set", f"model_name_or_path={sft}",
             "--set", f"output_dir={run_dir}", "--set", f"max_train_minutes={args.minutes}", "--set", "max_steps=100000",
             *MODES[mode], *extra])
        summary = json.loads((run_dir / "summary.json").read_text())
        compared = json.loads(run([*R1, "eval", str(run_dir), *eval_args, "--baseline", str(baseline),
                                   "--output", str(args.out / f"eval-{mode}.jsonl"), "--force"]))
        zero_before, zero_after = zero_spread_share(run_dir)
        results["modes"][mode] = {
            "steps": summary["global_step"], "train_seconds": summary["wall_seconds"],
            "accuracy": compared["b"]["metrics"]["accuracy"], "gain": compared["difference"]["accuracy"],
            "gain_ci": [compared["accuracy_ci"]["low"], compared["accuracy_ci"]["high"]],
            "zero_spread_generated": zero_before, "zero_spread_in_loss": zero_after,
        }
        print(json.dumps({mode: results["modes"][mode]}), flush=True)

    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nSFT model held-out accuracy {results['sft']['accuracy']:.3f} ({args.limit} items, "
          f"temperature {results['decoding']['temperature']}); GRPO budget {args.minutes} min each")
    print(f"{'mode':<10}{'steps':>6}{'accuracy':>10}{'gain':>8}  {'95% CI':<16}{'zero-spread gen':>16}{'in loss':>9}")
    for mode, r in results["modes"].items():
        ci = f"[{r['gain_ci'][0]:+.3f}, {r['gain_ci'][1]:+.3f}]"
        print(f"{mode:<10}{r['steps']:>6}{r['accuracy']:>10.3f}{r['gain']:>+8.3f}  {ci:<16}"
              f"{r['zero_spread_generated']!s:>16}{r['zero_spread_in_loss']!s:>9}")
    print(f"results: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
