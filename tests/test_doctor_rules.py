"""The doctor's rules on synthetic metric streams: each fires when it should, at the right step, and
every rule stays quiet on realistic healthy streams."""

from __future__ import annotations

import math
import random

import pytest

from r1cli.doctor import Doctor, diagnose
from r1cli.doctor.rules import Finding, SlowPhase
from r1cli.training.phases import PHASES, STEP, metric_name


def train_log(step: int, rng: random.Random, *, acc=0.3, fmt=0.85, zero=0.2, entropy=0.5, clipped=0.03, kl=0.002,
              grad=0.4, lr=2e-4, reject_sampling=False) -> dict:
    """One TRL 1.16 GRPO log dict (plus r1's reject-sampling keys), with sampling noise."""
    noisy = lambda v, s: max(0.0, v + rng.gauss(0, s))  # noqa: E731
    acc_m, fmt_m = min(1, noisy(acc, 0.08)), min(1, noisy(fmt, 0.04))
    log = {"step": step, "loss": rng.gauss(0, 0.02), "grad_norm": noisy(grad, 0.08), "learning_rate": lr,
           "epoch": step / 100, "reward": acc_m + 0.5 * fmt_m + 0.25 * 0.7, "reward_std": 0.4,
           "frac_reward_zero_std": min(1, noisy(zero, 0.06)), "rewards/accuracy/mean": acc_m, "rewards/accuracy/std": 0.4,
           "rewards/format/mean": fmt_m, "rewards/format/std": 0.2, "rewards/tag_count/mean": noisy(0.7, 0.05),
           "completions/mean_length": noisy(40, 3), "completions/max_length": 64.0,
           "completions/clipped_ratio": min(1, noisy(clipped, 0.02)), "entropy": noisy(entropy, 0.08 * entropy),
           "kl": noisy(kl, kl / 3) if kl is not None else None}
    if kl is None:
        del log["kl"]
    if reject_sampling:
        log["reject_sampling/zero_spread_frac_before"] = log["frac_reward_zero_std"]
        log["reject_sampling/zero_spread_frac_after"] = log["frac_reward_zero_std"] / 3
    return log


def eval_log(step: int, rng: random.Random, p: float, n: int = 32) -> dict:
    hits = sum(rng.random() < p for _ in range(n))
    return {"step": step, "eval/accuracy": hits / n, "eval/reward": 0.7, "eval/samples": n,
            "eval/completion_length": 40.0}


def stream(steps: int, seed: int = 0, every: int = 5, eval_p=lambda s: 0.3, **train) -> list[dict]:
    """``steps`` train logs, a real-time eval at step 0 and every ``every`` steps; keyword values may be functions of the step."""
    rng = random.Random(seed)
    records = [eval_log(0, rng, eval_p(0))]
    for step in range(1, steps + 1):
        values = {k: (v(step) if callable(v) else v) for k, v in train.items()}
        records.append(train_log(step, rng, **values))
        if step % every == 0:
            records.append(eval_log(step, rng, eval_p(step)))
    return records


# Seconds per step of each phase (time/<phase>, r1cli/training/phases.py) in two kinds of run.
CPU = {"generate": 41.0, "rewards": 1.7, "backward": 11.6, "optimizer": 1.2}  # the dashboard's `gen 71% · rew 3% · ..`
GPU = {"generate": 4.2, "rewards": 0.05, "backward": 1.1, "optimizer": 0.2}  # a 1.5B model, full fine-tuning


def timed(records: list[dict], per_step: dict, *, seed: int = 0, eval_seconds=0.0, save_every: int | None = None,
          save_seconds=0.0) -> list[dict]:
    """Add the ``time/*`` metrics r1 logs (logging_steps 1) to each train log: ``per_step`` seconds with 5% noise,
    a real-time eval's ``eval_seconds`` in the log of the step it ran at (the start-of-run eval is no step's time),
    a checkpoint's ``save_seconds`` in the log after its step's, and 3% of the step outside every phase.
    Values may be functions of the step."""
    rng = random.Random(seed + 1000)  # apart from the stream's own noise, which stays as it was
    at = lambda v, step: v(step) if callable(v) else v  # noqa: E731
    evals = {r["step"] for r in records if "eval/accuracy" in r and r["step"] > 0}
    for record in records:
        if "loss" not in record:
            continue
        step = record["step"]
        times = {metric_name(p): 0.0 for p in PHASES}
        times.update({metric_name(p): at(v, step) * rng.uniform(0.95, 1.05) for p, v in per_step.items()})
        if step in evals:
            times[metric_name("eval")] = at(eval_seconds, step) * rng.uniform(0.95, 1.05)
        if save_every and step > 1 and (step - 1) % save_every == 0:
            times[metric_name("save")] = at(save_seconds, step - 1) * rng.uniform(0.95, 1.05)
        record.update(times, **{STEP: sum(times.values()) * 1.03})
    return records


HEALTHY = {
    # the quickstart's LoRA GRPO on a CPU: beta 0 (no kl), reject sampling refill, accuracy slowly up; an eval of
    # 64 prompts and a LoRA adapter saved every 10 steps
    "quickstart_lora": lambda seed: timed(stream(60, seed, every=10, eval_p=lambda s: 0.25 + s / 600, kl=None,
                                                 acc=lambda s: 0.25 + s / 600, reject_sampling=True, zero=0.35),
                                          CPU, seed=seed, eval_seconds=45.0, save_every=10, save_seconds=0.6),
    # a GSM8K-like run with a KL penalty on a GPU: format learnt early alongside accuracy, entropy easing down;
    # the reference model's log-probs, a full checkpoint (2.5 steps' time) every 10 steps
    "gsm8k_beta": lambda seed: timed(stream(120, seed, every=20, eval_p=lambda s: 0.35 + s / 1000,
                                            acc=lambda s: 0.35 + s / 1000, fmt=lambda s: min(0.95, 0.6 + s / 300),
                                            entropy=lambda s: 0.6 - s / 600, kl=lambda s: 0.001 + s / 40000),
                                     GPU | {"logprobs": 0.6}, seed=seed, eval_seconds=9.0, save_every=10,
                                     save_seconds=15.0),
    # a long flat run: nothing learns, nothing breaks
    "flat": lambda seed: timed(stream(150, seed, every=15, eval_p=lambda s: 0.3), CPU, seed=seed, eval_seconds=40.0),
    # high accuracy, low spread share still under the threshold, a few clipped completions; frequent evals
    "easy_task": lambda seed: timed(stream(50, seed, every=5, eval_p=lambda s: 0.8, acc=0.8, zero=0.35, clipped=0.12),
                                    GPU, seed=seed, eval_seconds=3.0, save_every=10, save_seconds=12.0),
}


def quickstart_run() -> list[dict]:
    """The healthy quickstart GRPO run (LoRA, reject sampling refill, beta 0) of bench/quickstart/report.png,
    its 17 steps read off the plot: noisy train accuracy (4 prompts a step), zero-spread groups up to 100%
    before reject sampling and at most 50% after it, a few clipped completions, held-out accuracy 31% -> 50%."""
    columns = {
        "rewards/accuracy/mean": [.5, .69, .75, .44, .19, .81, .875, .625, .75, .69, .875, .5625, .5, .625, .4375, .9375, .4375],
        "rewards/format/mean": [.94, .94, .9, .925, .91, .94, 1, .95, 1, .94, .95, 1, .99, 1, 1, .94, 1],
        "rewards/tag_count/mean": [.98, .98, .955, .96, .955, .94, 1, .98, 1, .945, .975, 1, 1, 1, 1, .975, 1],
        "reward": [1.21, 1.4, 1.44, 1.13, .88, 1.51, 1.62, 1.34, 1.5, 1.39, 1.59, 1.31, 1.24, 1.37, 1.18, 1.65, 1.18],
        "reward_std": [.5, .47, .51, .57, .45, .53, .34, .49, .45, .48, .35, .51, .51, .5, .51, .27, .51],
        "completions/mean_length": [40, 40.8, 41.1, 40.2, 41.9, 41.9, 40.5, 39.4, 40.5, 41.4, 41.6, 41, 39.8, 40, 40, 42.3, 41],
        "completions/max_length": [48, 47, 45, 49, 64, 64, 41, 41, 41, 64, 64, 42, 43, 41, 41, 64, 41],
        "completions/clipped_ratio": [0, 0, 0, 0, .0625, .0625, 0, 0, 0, .0625, .0625, 0, 0, 0, 0, .0625, 0],
        "reject_sampling/zero_spread_frac_before": [0, 0, .25, .25, .25, .5, .75, .5, 1, .75, .25, .75, .25, .5, .75, .5, .75],
        "reject_sampling/zero_spread_frac_after": [0, 0, .25, 0, .25, 0, 0, .25, 0, .25, 0, 0, 0, 0, .5, .25, 0],
        "loss": [.036, -.029, .014, .059, .064, .051, .037, -.04, 0, .02, .029, .032, -.025, 0, -.009, .053, .009],
    }
    records = [{"step": 0, "eval/accuracy": 0.3125, "eval/samples": 32}]
    for i in range(17):
        records.append({"step": i + 1, "learning_rate": 2e-4, **{k: v[i] for k, v in columns.items()},
                        "frac_reward_zero_std": columns["reject_sampling/zero_spread_frac_after"][i]})
        if i + 1 == 10:
            records.append({"step": 10, "eval/accuracy": 0.5, "eval/samples": 32})
    return records


def test_the_real_quickstart_run_raises_no_finding():
    findings = diagnose(quickstart_run())
    assert findings == [], [f.line() for f in findings]


@pytest.mark.parametrize("name", sorted(HEALTHY))
@pytest.mark.parametrize("seed", range(5))
def test_healthy_streams_raise_no_finding(name, seed):
    findings = diagnose(HEALTHY[name](seed))
    assert findings == [], [f.line() for f in findings]


def fired(records: list[dict], rule: str) -> Finding:
    findings = [f for f in diagnose(records) if f.rule == rule]
    assert findings, f"{rule} did not fire: {[f.line() for f in diagnose(records)]}"
    return findings[0]


def test_zero_spread_without_reject_sampling_recommends_refill():
    finding = fired(stream(30, zero=lambda s: 0.75 if s >= 10 else 0.15, acc=lambda s: 0.05 if s >= 10 else 0.3),
                    "zero_spread")
    assert finding.step == 10 and finding.seen_at == 14  # five consecutive logs from step 10
    assert finding.settings == {"use_reject_sampling": True, "reject_sampling_mode": "refill"}
    assert "too hard" in finding.recommendation


def test_zero_spread_after_reject_sampling_recommends_temperature():
    records = stream(30, reject_sampling=True, zero=lambda s: 0.95 if s >= 5 else 0.3)
    for r in records:  # refill could not rescue the groups: the share reaching the loss stays high
        if "reject_sampling/zero_spread_frac_after" in r:
            r["reject_sampling/zero_spread_frac_after"] = r["frac_reward_zero_std"] * 0.9
    finding = fired(records, "zero_spread")
    assert finding.step == 5 and "temperature" in finding.settings


def test_zero_spread_needs_consecutive_steps():
    assert not [f for f in diagnose(stream(40, zero=lambda s: 0.8 if s % 5 == 0 else 0.2)) if f.rule == "zero_spread"]


def test_entropy_collapse():
    finding = fired(stream(40, entropy=lambda s: 0.5 if s < 20 else 0.02), "entropy_collapse")
    assert finding.step == 20 and finding.settings["temperature"] > 1 and finding.settings["learning_rate"] == 1e-4


def test_entropy_explosion():
    finding = fired(stream(30, entropy=lambda s: 0.5 if s < 15 else 4.0), "entropy_explosion")
    assert finding.step == 15 and finding.severity == "critical"


def test_clipped_recommends_a_longer_budget_or_soft_overlong_punishment():
    finding = fired(stream(30, clipped=lambda s: 0.5 if s >= 8 else 0.02), "clipped")
    assert finding.step == 8 and finding.settings == {"max_completion_length": 128}
    assert "soft_overlong_punishment" in finding.recommendation


def test_format_hacking_format_up_accuracy_down():
    records = stream(40, fmt=lambda s: min(0.98, 0.4 + s / 40), acc=lambda s: 0.3 - s / 400)
    for r in records:  # held-out accuracy easing down, exactly
        if "eval/accuracy" in r:
            r["eval/accuracy"] = 0.3 - r["step"] / 400
    finding = fired(records, "format_hacking")
    assert "'format'" in finding.message


def test_format_rising_with_accuracy_is_learning_not_hacking():
    records = stream(40, fmt=lambda s: min(0.98, 0.4 + s / 40), acc=lambda s: 0.2 + s / 100)
    assert not [f for f in diagnose(records) if f.rule == "format_hacking"]


def test_train_reward_up_while_eval_accuracy_down():
    records = stream(30, every=5, acc=lambda s: 0.2 + s / 50, eval_p=lambda s: 0.6 if s < 10 else 0.15)
    for r in records:  # exact eval figures with 64 samples each
        if "eval/accuracy" in r:
            r["eval/accuracy"], r["eval/samples"] = (0.6 if r["step"] < 10 else 0.15), 64
    finding = fired(records, "train_up_eval_down")
    assert finding.step == 5 and finding.seen_at == 15  # steps 10 and 15 both well below step 5's eval


def test_collapse_needs_two_significant_evals_and_stops():
    accuracy = {0: 0.25, 3: 0.3, 6: 0.28, 9: 0.1, 12: 0.03, 15: 0.02}
    records = stream(15, every=3, lr=3e-5)
    for r in records:
        if "eval/accuracy" in r:
            r["eval/accuracy"], r["eval/samples"] = accuracy[r["step"]], 64
    finding = fired(records, "collapse")
    assert (finding.step, finding.seen_at) == (9, 12) and finding.stops
    assert finding.settings == {"learning_rate": 1.5e-5, "keep_best": True, "stop_on_collapse": True}
    assert "step 3" in finding.message


def test_collapse_ignores_a_noisy_dip_on_small_eval_sets():
    accuracy = {0: 0.25, 3: 0.34, 6: 0.16, 9: 0.31, 12: 0.19, 15: 0.28}  # 32 samples: within noise
    records = stream(15, every=3)
    for r in records:
        if "eval/accuracy" in r:
            r["eval/accuracy"] = accuracy[r["step"]]
    assert not [f for f in diagnose(records) if f.rule == "collapse"]


@pytest.mark.parametrize("key,rule,value", [("kl", "kl_spike", 0.5), ("grad_norm", "grad_norm_spike", 12.0)])
def test_spikes(key, rule, value):
    records = stream(30)
    train = [r for r in records if "loss" in r]
    train[19][key] = value
    finding = fired(records, rule)
    assert finding.step == train[19]["step"]
    assert len([f for f in diagnose(records) if f.rule == rule]) == 1


@pytest.mark.parametrize("bad", [None, math.nan, math.inf])
def test_nonfinite_loss_stops(bad):
    records = stream(20)
    train = [r for r in records if "loss" in r]
    train[12]["loss"] = bad  # metrics.jsonl writes NaN as null
    finding = fired(records, "nonfinite")
    assert finding.step == train[12]["step"] and finding.stops and finding.severity == "critical"


def test_slow_phase_real_time_eval_every_other_step():
    records = timed(stream(30, every=2), GPU, eval_seconds=17.0)  # each eval 3 steps' time
    finding = fired(records, "slow_phase")
    # eval at steps 2, 4, 6, 8: whole periods from step 3, at least 5 train logs of them by step 8
    assert (finding.step, finding.seen_at) == (3, 8) and finding.severity == "warning" and not finding.stops
    assert finding.message == "real-time eval took 60% of the training time over steps 3-8, running every 2 steps " \
                              "(time/eval)"
    assert finding.settings == {"eval_steps": 12}  # 2 steps x (60% / 40%) / (20% / 80%)
    assert "max_eval_samples (32 prompts an eval now)" in finding.recommendation
    # the eval_steps it recommends brings eval to about SlowPhase.clear of the time: quiet
    spaced = timed(stream(60, every=finding.settings["eval_steps"]), GPU, eval_seconds=17.0)
    assert not [f for f in diagnose(spaced) if f.rule == "slow_phase"]
    share = sum(r["time/eval"] for r in spaced if STEP in r) / sum(r[STEP] for r in spaced if STEP in r)
    assert 0.1 < share <= SlowPhase.clear


def test_slow_phase_checkpoint_every_step_recommends_save_steps():
    finding = fired(timed(stream(20), GPU, save_every=1, save_seconds=6.0), "slow_phase")
    assert finding.message.startswith("checkpoint saving took") and "running every" not in finding.message
    assert list(finding.settings) == ["save_steps"] and finding.settings["save_steps"] >= 4


def test_slow_phase_needs_5_train_logs_of_slow_rewards():
    slow = lambda first, last: lambda s: 6.0 if first <= s <= last else 0.05  # noqa: E731
    finding = fired(timed(stream(30), GPU | {"rewards": slow(10, 30)}), "slow_phase")
    assert (finding.step, finding.seen_at) == (10, 14)
    assert finding.message.startswith("reward scoring took") and finding.settings == {"save_completions": True}
    assert "r1 score" in finding.recommendation and "reward_funcs" in finding.recommendation
    four = timed(stream(30), GPU | {"rewards": slow(10, 13)})  # four logs: not yet a finding
    assert not [f for f in diagnose(four) if f.rule == "slow_phase"]


@pytest.mark.parametrize("phase,kl,settings", [
    ("logprobs", True, {"beta": 0}),  # the reference model's pass
    ("logprobs", None, {"num_iterations": 1}),  # the old policy's, recomputed
    ("reject_sampling", None, {"max_resample_attempts": 1, "reject_sampling_mode": "refill"}),
])
def test_slow_phase_recommends_per_phase(phase, kl, settings):
    records = timed(stream(20, kl=0.002 if kl else None), GPU | {phase: 5.0})
    finding = fired(records, "slow_phase")
    assert f"(time/{phase})" in finding.message and finding.settings == settings


def test_slow_phase_fires_once_per_episode():
    slow_eval = lambda s: 17.0 if s <= 30 or s > 60 else 1.0  # noqa: E731
    records = timed(stream(90, every=2), GPU, eval_seconds=slow_eval)
    assert [f.step for f in diagnose(records) if f.rule == "slow_phase"] == [3, 61]


def test_slow_phase_ignores_occasional_slow_steps_and_generation():
    # a full checkpoint every 10 steps (2.5 steps' time), one of them 20 steps' time; one 30-step eval at step 25
    save = lambda s: 110.0 if s == 30 else 14.0  # noqa: E731
    records = timed(stream(60, every=25), GPU, save_every=10, save_seconds=save, eval_seconds=170.0)
    assert max(r["time/save"] / r[STEP] for r in records if STEP in r) > 0.6
    assert not [f for f in diagnose(records) if f.rule == "slow_phase"]
    # generation is the step's work, however much of it there is
    generating = timed(stream(30), {"generate": 50.0, "backward": 2.0, "rewards": 0.1})
    assert not [f for f in diagnose(generating) if f.rule == "slow_phase"]


def test_slow_phase_needs_time_metrics():
    records = timed(stream(20), GPU | {"rewards": 6.0})
    assert fired(records, "slow_phase")
    without_step = [{k: v for k, v in r.items() if k != STEP} for r in records]
    plain_trl = [{k: v for k, v in r.items() if not k.startswith("time/")} for r in records]  # trainer_state.json
    for stripped in (without_step, plain_trl):
        rule = SlowPhase()
        assert [rule.observe(r["step"], r) for r in stripped] == [None] * len(stripped) and not rule.logs


def test_slow_phase_judges_every_phase_but_the_steps_work():
    assert set(SlowPhase.CORE) | set(SlowPhase.LABELS) == set(PHASES)
    assert not set(SlowPhase.CORE) & set(SlowPhase.LABELS)


def test_events_in_the_stream_are_not_metrics():
    doctor = Doctor()
    assert doctor.observe(3, {"event": "doctor", "rule": "collapse", "loss": None}) == []


def test_finding_line_says_what_and_what_to_try():
    finding = fired(stream(30, zero=0.8), "zero_spread")
    assert finding.line().startswith("doctor @1 zero_spread: ")
    assert "try use_reject_sampling: true, reject_sampling_mode: refill" in finding.line()
    assert Finding.from_dict(finding.to_dict()) == finding
