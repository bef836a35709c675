"""`r1 doctor RUN_DIR`: read a run's metrics after the fact and say what went wrong and what to try.

RUN_DIR is an r1 run directory (its metrics.jsonl) or any transformers/TRL output
directory (its trainer_state.json's log_history, or that of its newest checkpoint-N);
a metrics.jsonl or trainer_state.json file works too. The rules are the ones a live
r1 run applies (:mod:`r1cli.doctor.rules`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from r1cli.commands._options import JsonOpt


def doctor(
    run_dir: Annotated[Path, typer.Argument(help="An r1 run directory, a transformers/TRL output_dir or checkpoint-N, "
                                            "or a metrics.jsonl / trainer_state.json file.", metavar="RUN_DIR",
                                            show_default=False)],
    accuracy_reward: Annotated[str, typer.Option("--accuracy-reward", help="The reward that verifies answers "
                                                 "(its train mean is rewards/<name>/mean).")] = "accuracy",
    as_json: JsonOpt = False,
) -> None:
    """Diagnose a GRPO run from its logged metrics: each finding with the step it started and a setting to try."""
    from r1cli.doctor import diagnose
    from r1cli.doctor.sources import load_history
    from r1cli.ui.console import console

    history = load_history(run_dir)
    findings = diagnose(history.records, accuracy_reward=accuracy_reward, settings=history.settings)
    steps = [int(r["step"]) for r in history.records if isinstance(r.get("step"), (int, float))]
    if as_json:
        typer.echo(json.dumps({"source": str(history.source), "records": len(history.records),
                               "last_step": max(steps, default=None),
                               "findings": [f.to_dict() for f in findings]}, indent=2))
        return
    span = f", steps {min(steps)}-{max(steps)}" if steps else ""
    console.print(f"r1 doctor: {history.source} ({len(history.records)} logged records{span})", markup=False,
                  soft_wrap=True)
    if not findings:
        console.print("no findings: every rule stayed quiet on this run (triggers: r1cli/doctor/rules.py)", markup=False,
                      soft_wrap=True)
        return
    for finding in findings:
        console.print(f"  step {finding.step:>5}  {finding.severity:<8} {finding.rule}: {finding.message}",
                      markup=False, soft_wrap=True)
        tried = ", ".join(f"{k}: {json.dumps(v)}" for k, v in finding.settings.items())
        console.print(f"{'':14}what to do: {finding.recommendation}" + (f" (try {tried})" if tried else ""),
                      markup=False, soft_wrap=True)
