"""EnhancedGRPOTrainer on the tiny model: TRL parity when off, reject sampling that reaches the loss, real-time eval."""

from __future__ import annotations

import pytest

pytest.importorskip("trl")

from datasets import Dataset, IterableDataset  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

from r1cli.errors import ConfigError  # noqa: E402
from r1cli.training.grpo_trainer import EnhancedGRPOTrainer  # noqa: E402
from r1cli.training.metrics import MetricsCallback, read_metrics  # noqa: E402

G = 4  # num_generations
PROMPTS = 2  # prompts per generation batch (per_device_train_batch_size = PROMPTS * G)


def make_dataset(kinds: list[str]) -> Dataset:
    """One row per kind ("flat" or "spread"): the reward functions below key on it."""
    return Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": f"{kind} question {i}"}] for i, kind in enumerate(kinds)],
            "solution": [str(i) for i in range(len(kinds))],
        }
    )


def config(tmp_path, **overrides) -> GRPOConfig:
    values = dict(
        output_dir=str(tmp_path / "run"),
        use_cpu=True,
        bf16=False,
        per_device_train_batch_size=PROMPTS * G,
        num_generations=G,
        max_completion_length=6,
        max_steps=2,
        logging_steps=1,
        learning_rate=1e-2,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
        seed=0,
    )
    values.update(overrides)
    return GRPOConfig(**values)


def by_prompt(prompts, completions, **kwargs):
    """0 for "flat" prompts (a zero-spread group, always); the completion's position in its group otherwise."""
    return [0.0 if "flat" in p[-1]["content"] else float(i % G) for i, p in enumerate(prompts)]


class FlakyReward:
    """Constant on the first call (every group zero-spread), spread from the second call on; records what it scored."""

    def __init__(self):
        self.__name__ = "flaky"
        self.calls: list[dict] = []

    def __call__(self, prompts, completions, completion_ids, **kwargs):
        self.calls.append({"completion_ids": [list(ids) for ids in completion_ids], "solution": kwargs["solution"]})
        if len(self.calls) == 1:
            return [1.0] * len(prompts)
        return [float(i % G) for i in range(len(prompts))]


def generation_batch(dataset: Dataset) -> list[dict]:
    """A local generation batch as TRL's RepeatSampler lays it out: each row repeated G times."""
    return [dict(dataset[i]) for i in range(len(dataset)) for _ in range(G)]


def trainer_for(tiny_model_dir, tmp_path, reward, dataset, **options) -> EnhancedGRPOTrainer:
    args = options.pop("args", None) or config(tmp_path)
    trainer = EnhancedGRPOTrainer(str(tiny_model_dir), reward_funcs=[reward], args=args, train_dataset=dataset, **options)
    trainer.model.train()
    return trainer


def real_rows(ids, mask) -> list[list[int]]:
    return [[t for t, m in zip(row, row_mask) if m] for row, row_mask in zip(ids.tolist(), mask.tolist())]


PARITY_KEYS = ("loss", "grad_norm", "reward", "frac_reward_zero_std", "entropy")


def trl_and_r1_logs(tiny_model_dir, tmp_path, args: dict | None = None, **options) -> tuple[list[dict], list[dict]]:
    """The logged train steps of plain TRL and of r1's trainer (with ``options``) on the same data and seed;
    ``args``: GRPOConfig overrides for both."""
    dataset = make_dataset(["spread", "flat"] * 4)
    runs = []
    for cls, name, kwargs in ((GRPOTrainer, "trl", {}), (EnhancedGRPOTrainer, "r1", options)):
        trainer = cls(str(tiny_model_dir), reward_funcs=[by_prompt], args=config(tmp_path / name, **(args or {})),
                      train_dataset=dataset, **kwargs)
        trainer.train()
        runs.append([entry for entry in trainer.state.log_history if "loss" in entry])
    assert len(runs[0]) == len(runs[1]) == 2
    return runs[0], runs[1]


def test_off_it_trains_exactly_like_trl(tiny_model_dir, tmp_path):
    # TRL's generate and TRL's padded rows for the loss: bit for bit TRL. r1's loop samples from the same
    # distribution, not the same random stream (test_r1_generation_loop_trains_like_trls_generate_on_the_same_
    # completions), and its loss layout is TRL's up to float rounding (below).
    trl, r1 = trl_and_r1_logs(tiny_model_dir, tmp_path, generation_loop="transformers", loss_layout="padded")
    assert [[e[k] for k in PARITY_KEYS] for e in trl] == [[e[k] for k in PARITY_KEYS] for e in r1]
    assert not any(k.startswith("reject_sampling/") for k in r1[0])


@pytest.mark.parametrize("args", [{}, {"beta": 0.1, "num_iterations": 2, "steps_per_generation": 2}],
                         ids=["loss-only", "reference-and-old-log-probs"])
def test_shared_prompt_rows_train_like_trl_up_to_float_rounding(tiny_model_dir, tmp_path, monkeypatch, args):
    # The default loss layout: each prompt once for its group's completions (training/shared_prompts.py), for
    # the loss and, with beta and several iterations, the reference and old log-probs (by generation batch).
    from r1cli.training import shared_prompts

    widths: list[tuple[int, int]] = []
    real_plan = shared_prompts.plan

    def spy(input_ids, *args, **kwargs):
        packed = real_plan(input_ids, *args, **kwargs)
        widths.append((input_ids.numel(), packed.input_ids.numel() if packed is not None else -1))
        return packed

    monkeypatch.setattr(shared_prompts, "plan", spy)
    trl, r1 = trl_and_r1_logs(tiny_model_dir, tmp_path, args, generation_loop="transformers")  # same completions
    assert widths and all(0 < packed < padded for padded, packed in widths)  # packed, and fewer positions
    # One call a step for the loss; with beta and two iterations also the reference and old log-probs.
    assert len(widths) == 2 if not args else len(widths) > 2
    for a, b in zip(trl, r1):
        keys = [k for k in (*PARITY_KEYS, "kl") if k in a]  # generation metrics log on generating steps only
        assert keys and keys == [k for k in (*PARITY_KEYS, "kl") if k in b]
        assert [a[k] for k in keys] == pytest.approx([b[k] for k in keys], rel=1e-5, abs=1e-6)


def test_resample_splices_the_new_completions_into_the_batch(tiny_model_dir, tmp_path):
    reward = FlakyReward()
    dataset = make_dataset(["spread"] * PROMPTS)
    trainer = trainer_for(tiny_model_dir, tmp_path, reward, dataset, use_reject_sampling=True, max_resample_attempts=2)
    batch = trainer._generate_and_score_completions(generation_batch(dataset))

    stats = trainer.last_reject_stats
    assert (stats.rejected_initial, stats.recovered, stats.still_rejected, stats.rounds) == (PROMPTS, PROMPTS, 0, 1)
    assert stats.extra_completions == PROMPTS * G
    assert len(reward.calls) == 2
    # What the loss will see is the second round, not the zero-advantage first one.
    assert real_rows(batch["completion_ids"], batch["completion_mask"]) == reward.calls[1]["completion_ids"]
    assert batch["advantages"].abs().sum() > 0
    assert batch["num_items_in_batch"].item() == batch["completion_mask"].sum().item()
    # Per-step statistics are queued for the next log, once; TRL's own metrics keep describing round one.
    metrics = trainer._metrics["train"]
    assert metrics["reject_sampling/recovered"] == [float(PROMPTS)]
    assert metrics["reward"] == [1.0] and metrics["frac_reward_zero_std"] == [1.0]
    assert len(trainer._logs["completion"]) == PROMPTS * G


def test_threshold_rejects_low_groups_even_with_spread(tiny_model_dir, tmp_path):
    calls = []

    def low_then_high(prompts, completions, **kwargs):
        calls.append(1)
        offset = 0.0 if len(calls) == 1 else 10.0
        return [offset + i % G for i in range(len(prompts))]

    dataset = make_dataset(["spread"] * PROMPTS)
    trainer = trainer_for(
        tiny_model_dir, tmp_path, low_then_high, dataset, use_reject_sampling=True, reject_sampling_threshold=5.0
    )
    trainer._generate_and_score_completions(generation_batch(dataset))
    stats = trainer.last_reject_stats
    assert stats.zero_spread_initial == 0 and stats.rejected_initial == PROMPTS and stats.recovered == PROMPTS
    assert stats.reward_mean_before == pytest.approx(1.5) and stats.reward_mean_after == pytest.approx(11.5)


def test_refill_replaces_rejected_groups_with_fresh_prompts(tiny_model_dir, tmp_path):
    dataset = make_dataset(["flat", "flat", "spread", "spread", "spread", "spread"])
    trainer = trainer_for(
        tiny_model_dir, tmp_path, by_prompt, dataset, use_reject_sampling=True, reject_sampling_mode="refill",
        max_resample_attempts=4,
    )
    batch = trainer._generate_and_score_completions(generation_batch(dataset.select(range(PROMPTS))))
    stats = trainer.last_reject_stats
    assert stats.rejected_initial == PROMPTS and stats.recovered == PROMPTS and stats.still_rejected == 0
    tokenizer = trainer.processing_class
    prompts = tokenizer.batch_decode(batch["prompt_ids"], skip_special_tokens=True)
    assert all("spread question" in p and "flat" not in p for p in prompts)
    for start in range(0, PROMPTS * G, G):  # each replaced group is one fresh prompt, G completions
        assert len(set(prompts[start : start + G])) == 1
    assert batch["advantages"].abs().sum() > 0


@pytest.mark.parametrize("fallback", ["keep", "mask"])
def test_fallback_when_nothing_can_be_rescued(tiny_model_dir, tmp_path, fallback):
    dataset = make_dataset(["flat", "spread"])
    trainer = trainer_for(
        tiny_model_dir, tmp_path, by_prompt, dataset, use_reject_sampling=True, max_resample_attempts=2,
        reject_sampling_fallback=fallback,
    )
    batch = trainer._generate_and_score_completions(generation_batch(dataset))
    stats = trainer.last_reject_stats
    assert stats.rounds == 2 and stats.still_rejected_slots == [0] and stats.recovered == 0
    flat_rows, spread_rows = slice(0, G), slice(G, 2 * G)
    assert batch["advantages"][flat_rows].abs().sum() == 0
    assert batch["advantages"][spread_rows].abs().sum() > 0
    flat_tokens = batch["completion_mask"][flat_rows].sum().item()
    if fallback == "mask":
        assert flat_tokens == 0  # dropped from the loss entirely
        assert batch["num_items_in_batch"].item() == batch["completion_mask"][spread_rows].sum().item()
    else:
        assert flat_tokens > 0  # kept, as plain TRL would (zero advantage)


def test_training_never_stalls_and_the_loss_sees_resampled_groups(tiny_model_dir, tmp_path):
    reward = FlakyReward()
    dataset = make_dataset(["spread", "spread", "flat", "spread"])
    trainer = trainer_for(
        tiny_model_dir, tmp_path, reward, dataset, use_reject_sampling=True, max_resample_attempts=1,
        args=config(tmp_path, max_steps=2),
    )
    seen = []
    compute_loss = trainer._compute_loss

    def spy(model, inputs):
        seen.append(inputs["advantages"].detach().clone())
        return compute_loss(model, inputs)

    trainer._compute_loss = spy
    trainer.train()
    assert trainer.state.global_step == 2
    # Step 1's first round was all zero-spread: plain GRPO would have trained on zero advantages.
    assert seen[0].abs().sum() > 0
    logged = [e for e in trainer.state.log_history if "reject_sampling/rejected_initial" in e]
    assert [e["reject_sampling/rejected_initial"] for e in logged] == [PROMPTS, 0]


def test_real_time_eval_metrics_land_in_metrics_jsonl_at_the_right_steps(tiny_model_dir, tmp_path, clean_registry):
    from r1cli.evaluation.generation import generate
    from r1cli.models import load_model, load_tokenizer
    from r1cli.rewards import register_reward

    # A plain function is eval/accuracy when registered as verifying answers (the one rule), not by its name.
    @register_reward("test_trainer_accuracy", verifies_answers=True, range=(0.0, 1.0))
    def accuracy(completions, solution, **kwargs):
        return [1.0 if s == "0" else 0.0 for s in solution]

    def length(completions, completion_ids, **kwargs):
        return [float(len(ids)) for ids in completion_ids]

    train, test = make_dataset(["spread"] * 8), make_dataset(["spread"] * 5)
    trainer = EnhancedGRPOTrainer(
        str(tiny_model_dir), reward_funcs=[accuracy, length], args=config(tmp_path, max_steps=5), train_dataset=train,
        eval_dataset=test, eval_steps=2, eval_on_start=True, max_eval_samples=3, callbacks=[MetricsCallback()],
    )
    trainer.train()
    records = read_metrics(tmp_path / "run")
    evals = [r for r in records if "eval/accuracy" in r]
    assert [r["step"] for r in evals] == [0, 2, 4, 5]  # and the last step, off the eval_steps grid
    assert all(r["eval/samples"] == 3 and r["eval/accuracy"] == pytest.approx(1 / 3) for r in evals)
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4, 5]  # eval did not swallow a train log
    # The step-0 numbers are exactly what generate() + the same reward gives on the untrained model.
    model, tokenizer = load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)
    outputs = generate(model, tokenizer, test["prompt"][:3], max_new_tokens=6)
    assert evals[0]["eval/rewards/length/mean"] == pytest.approx(sum(o[0].num_tokens for o in outputs) / 3)
    assert evals[0]["eval/reward"] == pytest.approx(1 / 3 + evals[0]["eval/rewards/length/mean"])


def test_without_a_reward_that_verifies_answers_eval_logs_no_accuracy_and_says_so_once(tiny_model_dir, tmp_path):
    from r1cli.rewards.selection import calculator_for

    calc = calculator_for(names=["format", "length"])  # format first: the old rule called it accuracy
    events = []
    metrics = MetricsCallback()
    metrics.subscribe(events.append)
    train, test = make_dataset(["spread"] * 8), make_dataset(["spread"] * 3)
    trainer = EnhancedGRPOTrainer(
        str(tiny_model_dir), reward_funcs=list(calc.funcs), args=config(tmp_path, max_steps=2, reward_weights=calc.weights),
        train_dataset=train, eval_dataset=test, eval_steps=1, eval_on_start=True, callbacks=[metrics],
    )
    trainer.train()
    evals = [r for r in read_metrics(tmp_path / "run") if "eval/samples" in r]
    assert [r["step"] for r in evals] == [0, 1, 2]
    assert not any("eval/accuracy" in r for r in evals)
    assert all("eval/rewards/format/mean" in r and "eval/rewards/length/mean" in r for r in evals)
    notes = [e for e in events if e["event"] == "note"]
    assert [n["message"] for n in notes] == ["no reward verifies answers: real-time eval logs no eval/accuracy"]


def test_invalid_options_are_config_errors(tiny_model_dir, tmp_path):
    dataset = make_dataset(["spread"] * 2)
    with pytest.raises(ConfigError, match="reject_sampling_mode"):
        trainer_for(tiny_model_dir, tmp_path, by_prompt, dataset, reject_sampling_mode="bogus")
    with pytest.raises(ConfigError, match="reject_sampling_fallback"):
        trainer_for(tiny_model_dir, tmp_path, by_prompt, dataset, reject_sampling_fallback="drop")
    with pytest.raises(ConfigError, match="max_resample_attempts must be >= 1"):
        trainer_for(tiny_model_dir, tmp_path, by_prompt, dataset, use_reject_sampling=True, max_resample_attempts=0)
    with pytest.raises(ConfigError, match="eval dataset"):
        trainer_for(tiny_model_dir, tmp_path, by_prompt, dataset, eval_steps=5)
    with pytest.raises(ConfigError, match="one map-style eval dataset"):
        trainer_for(tiny_model_dir, tmp_path, by_prompt, dataset, eval_dataset={"a": dataset}, eval_on_start=True)
    stream = IterableDataset.from_generator(lambda: iter(dataset))
    with pytest.raises(ConfigError, match="map-style"):
        trainer_for(
            tiny_model_dir, tmp_path, by_prompt, stream, use_reject_sampling=True, reject_sampling_mode="refill",
            args=config(tmp_path, accelerator_config={"dispatch_batches": False}),
        )


def test_spliced_log_probs_stay_aligned_with_their_tokens(tiny_model_dir, tmp_path):
    import torch

    # Refill swaps a short flat prompt for a long fresh one, so the spliced batch is wider than either round.
    # beta > 0 adds reference log-probs; num_iterations=2 makes TRL keep the sampling-time ("old") ones.
    long_prompts = Dataset.from_dict(
        {"prompt": [[{"role": "user", "content": "spread " + "question number one two three " * 4 + str(i)}] for i in range(4)],
         "solution": ["x"] * 4}
    )
    first = make_dataset(["flat", "spread"])
    dataset = Dataset.from_dict({k: list(first[k]) + list(long_prompts[k]) for k in ("prompt", "solution")})
    args = config(tmp_path, beta=0.1, num_iterations=2, max_completion_length=8)
    trainer = trainer_for(
        tiny_model_dir, tmp_path, by_prompt, dataset, use_reject_sampling=True, reject_sampling_mode="refill",
        max_resample_attempts=4, args=args,
    )
    inputs = generation_batch(first)
    short_width = max(len(trainer.processing_class.apply_chat_template(r["prompt"], add_generation_prompt=True)) for r in inputs)
    batch = trainer._generate_and_score_completions(inputs)
    assert trainer.last_reject_stats.recovered == 1
    assert batch["prompt_ids"].shape[1] > short_width  # the untouched group got extra left padding
    assert {"old_per_token_logps", "ref_per_token_logps"} <= set(batch)
    # Recompute the log-probs of the spliced batch as laid out now: every row must match the values
    # carried over from the round that generated it.
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, ids, mask, batch["completion_ids"].size(1), batch_size=len(ids)
        )
    valid = batch["completion_mask"].bool()
    assert torch.allclose(logps[valid], batch["old_per_token_logps"][valid], atol=1e-4)
    assert torch.allclose(logps[valid], batch["ref_per_token_logps"][valid], atol=1e-4)  # step 0: policy == ref


TWO_PROCESS_SCRIPT = '''
import json, sys
from datasets import Dataset
from trl import GRPOConfig
from r1cli.training.grpo_trainer import EnhancedGRPOTrainer

model_dir, out, mode, per_device, fallback = sys.argv[1:6]
kinds = ["flat", "spread", "spread", "flat", "spread", "spread"] * 3
ds = Dataset.from_dict({"prompt": [[{"role": "user", "content": f"{k} question {i}"}] for i, k in enumerate(kinds)],
                        "solution": [str(i) for i in range(len(kinds))]})

def reward(prompts, completion_ids, **kwargs):
    return [0.0 if "flat" in p[-1]["content"] else float(sum(ids) % 5) for p, ids in zip(prompts, completion_ids)]

args = GRPOConfig(output_dir=out, use_cpu=True, bf16=False, per_device_train_batch_size=int(per_device), num_generations=4,
                  max_completion_length=6, max_steps=3, logging_steps=1, report_to=[], save_strategy="no",
                  disable_tqdm=True, seed=0)
trainer = EnhancedGRPOTrainer(model_dir, reward_funcs=[reward], args=args, train_dataset=ds, eval_dataset=ds.select(range(5)),
                              eval_steps=2, use_reject_sampling=True, reject_sampling_mode=mode, max_resample_attempts=2,
                              reject_sampling_fallback=fallback)
trainer.train()
with open(f"{out}/rank{trainer.accelerator.process_index}.json", "w") as f:
    json.dump(trainer.state.log_history, f)
'''


@pytest.mark.slow
@pytest.mark.parametrize("mode, per_device, fallback", [("resample", 8, "keep"), ("refill", 6, "mask")])
def test_two_processes_make_the_same_decisions(tiny_model_dir, tmp_path, mode, per_device, fallback):
    """2 CPU processes (gloo): compact layout (8 rows, groups of 4) and straddling groups (6 rows)."""
    import json
    import socket
    import subprocess
    import sys

    script = tmp_path / "two.py"
    script.write_text(TWO_PROCESS_SCRIPT)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
               str(script), str(tiny_model_dir), str(tmp_path), mode, str(per_device), fallback]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    logs = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]

    def decisions(log):
        return [{k: v for k, v in entry.items() if k.startswith(("reject_sampling/", "eval/")) and k not in
                 ("reject_sampling/seconds", "eval/seconds")} for entry in log]

    assert decisions(logs[0]) == decisions(logs[1])
    steps = [e for e in logs[0] if "reject_sampling/groups_total" in e]
    assert len(steps) == 3 and all(e["reject_sampling/groups_total"] == per_device * 2 // 4 for e in steps)
    assert sum(e["reject_sampling/rejected_initial"] for e in steps) > 0  # flat prompts were drawn and judged
    assert [e["eval/samples"] for e in logs[0] if "eval/samples" in e] == [5, 5]  # at eval_steps=2 and the last step


def test_trained_metrics_describe_the_spliced_batch_beside_the_generated_ones(tiny_model_dir, tmp_path):
    reward = FlakyReward()  # round one: 1.0 everywhere (zero spread); round two: 0, 1, 2, 3 per group
    dataset = make_dataset(["spread"] * PROMPTS)
    trainer = trainer_for(tiny_model_dir, tmp_path, reward, dataset, use_reject_sampling=True, max_resample_attempts=2)
    trainer._generate_and_score_completions(generation_batch(dataset))
    metrics = trainer._metrics["train"]
    # generated: TRL's keys, the first round
    assert metrics["reward"] == [1.0] and metrics["frac_reward_zero_std"] == [1.0] and metrics["rewards/flaky/mean"] == [1.0]
    # trained: the batch that reaches the loss
    assert metrics["trained/reward"] == [1.5] and metrics["trained/rewards/flaky/mean"] == [1.5]
    assert metrics["trained/frac_reward_zero_std"] == [0.0]


def test_masked_groups_are_not_in_the_trained_metrics(tiny_model_dir, tmp_path):
    dataset = make_dataset(["spread", "flat"])  # the flat group can never be rescued
    trainer = trainer_for(tiny_model_dir, tmp_path, by_prompt, dataset, use_reject_sampling=True,
                          max_resample_attempts=1, reject_sampling_fallback="mask")
    trainer._generate_and_score_completions(generation_batch(dataset))
    metrics = trainer._metrics["train"]
    assert metrics["reward"] == [0.75] and metrics["frac_reward_zero_std"] == [0.5]
    assert metrics["trained/reward"] == [1.5] and metrics["trained/frac_reward_zero_std"] == [0.0]


def _decode_calls(monkeypatch) -> list[int]:
    """Count calls into r1's decoding loop (the trainer imports it when it generates)."""
    import r1cli.evaluation.decoding as decoding

    calls: list[int] = []
    real = decoding.decode

    def counted(model, prompts, **kwargs):
        calls.append(len(prompts))
        return real(model, prompts, **kwargs)

    monkeypatch.setattr(decoding, "decode", counted)
    return calls


def test_r1_generation_loop_trains_like_trls_generate_on_the_same_completions(tiny_model_dir, tmp_path, monkeypatch):
    # top_k=1 makes sampling deterministic, so both loops must produce the same completions: then every
    # statistic must be the same too. (A group's completions are then identical and its advantages cancel:
    # loss and gradient are float noise around zero, so they are not compared.)
    dataset = make_dataset(["spread", "flat"] * 4)
    calls = _decode_calls(monkeypatch)
    runs, generated = {}, {}
    for loop in ("r1", "transformers"):
        generated[loop] = []

        def recording(prompts, completions, completion_ids, _seen=generated[loop], **kwargs):
            _seen.append([list(ids) for ids in completion_ids])
            return by_prompt(prompts, completions)

        recording.__name__ = "by_prompt"
        # SGD: Adam would turn the float-noise gradient into full-size steps that differ between the runs.
        args = config(tmp_path / loop, top_k=1, max_completion_length=10, optim="sgd")
        trainer = trainer_for(tiny_model_dir, tmp_path, recording, dataset, args=args, generation_loop=loop)
        trainer.train()
        runs[loop] = [entry for entry in trainer.state.log_history if "loss" in entry]
        if loop == "r1":
            assert calls == [PROMPTS * G] * 2  # both steps generated through the loop, a whole batch at once
            del calls[:]
    assert calls == []  # generation_loop: transformers never enters it
    assert len(generated["r1"]) == 2 and generated["r1"] == generated["transformers"]
    keys = ("reward", "completions/mean_length", "completions/clipped_ratio", "entropy")
    # Up to float rounding: the loop consumes the random stream differently (one draw per row and step), so
    # TRL's shuffle of the batch after generation orders the rows differently.
    for ours, theirs in zip(runs["r1"], runs["transformers"], strict=True):
        assert [ours[k] for k in keys] == pytest.approx([theirs[k] for k in keys], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("generation_kwargs", [{"no_repeat_ngram_size": 2}, {"eos_token_id": [5, 6]}],
                         ids=["a-processor-the-loop-lacks", "stop-tokens-other-than-trls-eos"])
def test_settings_the_loop_does_not_reproduce_generate_with_trl(tiny_model_dir, tmp_path, monkeypatch,
                                                               generation_kwargs):
    dataset = make_dataset(["spread", "flat"])
    calls = _decode_calls(monkeypatch)
    args = config(tmp_path, max_steps=1, generation_kwargs=generation_kwargs)
    trainer_for(tiny_model_dir, tmp_path, by_prompt, dataset, args=args).train()
    assert calls == []
    with pytest.raises(ConfigError, match="generation_loop must be one of r1, transformers"):
        trainer_for(tiny_model_dir, tmp_path, by_prompt, dataset, generation_loop="vllm")
    with pytest.raises(ConfigError, match="loss_layout must be one of shared_prompts, padded"):
        trainer_for(tiny_model_dir, tmp_path, by_prompt, dataset, loss_layout="packed")


def test_a_loss_that_cannot_share_prompts_says_why_once(tiny_model_dir, tmp_path, caplog):
    from transformers import AutoModelForCausalLM

    trainer = trainer_for(tiny_model_dir, tmp_path, by_prompt, make_dataset(["spread"]))
    assert trainer._packs_shared_prompts(trainer.model, False, {})
    flash = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    flash.config._attn_implementation = "flash_attention_2"
    with caplog.at_level("INFO", logger="r1cli"):
        assert not any(trainer._packs_shared_prompts(flash, False, {}) for _ in range(3))
        assert not trainer._packs_shared_prompts(trainer.model, True, {})  # TRL computes a MoE aux loss
    said = [r.getMessage() for r in caplog.records if "loss_layout" in r.getMessage()]
    assert len(said) == 2 and "flash_attention_2" in said[0] and "load-balancing" in said[1]


def test_the_loss_projects_only_completion_tokens_through_the_lm_head(tiny_model_dir, tmp_path, monkeypatch):
    # TRL alone projects every position (prompt and padding too) on a CPU; r1's trainer only the
    # completion tokens the loss scores (r1cli/training/fused_head.py), with TRL's results
    # (test_off_it_trains_exactly_like_trl). With beta 0 and one iteration (the config's), the
    # loss is the only caller of the head: no reference or old log-probs. It works in narrower tiles on a CPU.
    import trl.trainer.utils as trl_utils

    from r1cli.training.fused_head import CPU_TILE_COLUMNS

    kernel = trl_utils._ChunkedLogProbFunction
    rows: list[int] = []
    widths: list[int] = []
    real = kernel.apply

    def counted(hidden, weight, bias, targets, temperature, chunk_size, *args):
        rows.append(hidden.shape[0]), widths.append(chunk_size)
        return real(hidden, weight, bias, targets, temperature, chunk_size, *args)

    monkeypatch.setattr(kernel, "apply", counted)
    trainer = trainer_for(tiny_model_dir, tmp_path, by_prompt, make_dataset(["spread", "flat"]), args=config(tmp_path, max_steps=1))
    scored: list[int] = []
    real_loss = trainer.compute_loss

    def loss(model, inputs, *args, **kwargs):
        scored.append(int(inputs["completion_mask"].sum()))
        return real_loss(model, inputs, *args, **kwargs)

    trainer.compute_loss = loss
    trainer.train()
    assert rows == scored and scored[0] > 0
    assert widths == [CPU_TILE_COLUMNS] * len(rows) and trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE > CPU_TILE_COLUMNS


def checkpointed_layer_calls(monkeypatch) -> list[int]:
    """Each decoder layer whose forward goes through activation checkpointing, once per forward
    (transformers binds its checkpoint function when checkpointing is enabled: install before the trainer)."""
    import transformers.modeling_utils

    calls: list = []
    real = transformers.modeling_utils.checkpoint

    def counted(function, *args, **kwargs):
        calls.append(function.args[0])  # partial(forward, layer, ...): held, so no two layers share an id
        return real(function, *args, **kwargs)

    monkeypatch.setattr(transformers.modeling_utils, "checkpoint", counted)
    return calls


def test_activations_kept_where_they_fit_train_exactly_as_checkpointed(tiny_model_dir, tmp_path, monkeypatch):
    # The recipe left activation checkpointing to r1 (training/activations.py) and the machine has room: the loss
    # runs without recomputing layers, and TRL's results (checkpointed, as its default says) come out bit for bit.
    from r1cli.training import activations

    monkeypatch.setattr(activations, "available_memory", lambda: 2**40)
    calls = checkpointed_layer_calls(monkeypatch)
    trl, r1 = trl_and_r1_logs(tiny_model_dir, tmp_path, generation_loop="transformers", loss_layout="padded",
                              keep_activations_that_fit=True)
    assert len({id(layer) for layer in calls}) == 2  # the tiny model's two layers in TRL's run; none of r1's
    assert [[e[k] for k in PARITY_KEYS] for e in trl] == [[e[k] for k in PARITY_KEYS] for e in r1]


@pytest.mark.parametrize("keep, memory, checkpointed, said", [
    (True, 2**40, False, "off"), (True, 2**10, True, "on"), (True, None, True, "on"), (False, 2**40, True, None),
], ids=["fits", "does-not-fit", "memory-unknown", "recipe-decided"])
def test_checkpointing_skipped_only_where_left_to_r1_and_the_activations_fit(tiny_model_dir, tmp_path, monkeypatch,
                                                                             caplog, keep, memory, checkpointed, said):
    from r1cli.training import activations

    monkeypatch.setattr(activations, "available_memory", lambda: memory)
    calls = checkpointed_layer_calls(monkeypatch)
    trainer = trainer_for(tiny_model_dir, tmp_path, by_prompt, make_dataset(["spread", "flat"]),
                          keep_activations_that_fit=keep)
    with caplog.at_level("INFO", logger="r1cli"):
        trainer.train()
    assert bool(calls) is checkpointed
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("activation checkpointing")]
    assert lines == ([] if said is None else [lines[0]]) and (said is None or f"checkpointing {said}:" in lines[0])
    assert all(getattr(m, "gradient_checkpointing", True) for m in trainer.model.model.layers)  # switched back on
