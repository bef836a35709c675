"""``EnhancedGRPOTrainer``: TRL's GRPOTrainer plus reject sampling and real-time evaluation.

Used from Python exactly like ``trl.GRPOTrainer``, with extra keyword arguments:

    trainer = EnhancedGRPOTrainer(
        model, reward_funcs=[accuracy, fmt], args=GRPOConfig(...), train_dataset=train,
        eval_dataset=test, eval_steps=50, eval_on_start=True, max_eval_samples=200,
        use_reject_sampling=True, reject_sampling_mode="refill", max_resample_attempts=2,
    )
    trainer.train()

The extra keyword arguments, their defaults, choices and ranges are those of
``RejectSamplingSettings`` and ``RealtimeEvalSettings`` (:mod:`r1cli.config.features`),
the same objects the recipe's keys are declared from; ``generation_loop`` and ``loss_layout`` are
those of ``GenerationSettings`` and ``LossSettings``. ``keep_activations_that_fit`` (default off, as
in TRL) is set by ``training/build.py`` when the recipe leaves activation checkpointing unset: on a
CPU the loss then skips checkpointing for a micro-batch whose activations fit
(``training/activations.py``).

Reject sampling (off by default; off, this class behaves exactly like TRL's)
overrides ``_generate_and_score_completions``: TRL generates and scores the
batch; groups whose total rewards have zero spread (or, with
``reject_sampling_threshold``, whose best total is below it) are rejected; then,
for up to ``max_resample_attempts`` rounds, TRL's own method runs again on the
rejected groups' prompts (``"resample"``) or on fresh prompts from the train set
(``"refill"``, DAPO's dynamic sampling), and accepted new groups are spliced
into the batch (ids, masks, advantages, log-probs), so the loss is computed on
them. What still-rejected groups become is ``reject_sampling_fallback``
(``"keep"`` the best group seen, or ``"mask"`` them out of the loss); see
``reject_sampling.py``. Per-step statistics are logged as ``reject_sampling/*``.

Groups are judged on the weighted total reward per completion (TRL's
``reward_weights``), from the rewards TRL gathers across processes, so every
process decides the same. Each round's advantages are TRL's, computed within
that round's batch: per group with ``scale_rewards="group"``/``"none"`` (the
default), so a spliced group is exactly what TRL would have produced for it;
with ``scale_rewards="batch"`` or ``multi_objective_aggregation=
"normalize_then_sum"`` the normalisation uses the round's batch statistics.

Bookkeeping: TRL's own metrics (``reward``, ``rewards/<name>/mean``,
``frac_reward_zero_std``, completion lengths...) and its completions table
describe the first round only: what the policy *generated*, unfiltered. What was
*trained on* (the spliced batch, less masked groups) is logged beside them as
``trained/reward``, ``trained/rewards/<name>/mean`` and ``trained/frac_reward_zero_std``
(same definitions as TRL's; zero std = a group's totals all equal); the extra rounds
also show in ``reject_sampling/*`` and ``num_tokens``, which counts every generated token.

Reward failures: r1's rewards are guarded calls (:mod:`r1cli.rewards.calling`). A reward
that raises, exits or returns something that is not one number per completion, a
call past ``reward_timeout``, and a call whose every value is non-finite (NaN, inf,
beyond +-1e9: a reward that teaches nothing) raise a ``RewardCallError`` naming the
reward and the step; ``r1 grpo`` stops there, keeping the last complete checkpoint.
Some non-finite values are left out like None and logged as ``rewards/<name>/nonfinite``
(share of the batch, custom rewards); a completion every reward leaves out gets no
advantage (TRL's rule for None).

Real-time evaluation (``eval_dataset`` + ``eval_steps`` and/or ``eval_on_start``)
generates greedily for up to ``max_eval_samples`` prompts and logs ``eval/*``
metrics computed with the trainer's own reward functions (``realtime_eval.py``);
``eval/accuracy`` is the reward that verifies answers, and is not logged when none does.

Per-phase timing (always on; :mod:`r1cli.training.phases`): every logged train step
carries ``time/<phase>`` and ``time/step``, seconds per step (averaged over the
``logging_steps`` window), each phase its self time, so they never sum past the step:

- ``generate``: ``_generate_and_score_completions`` (TRL's generation, decoding,
  advantages), less what is nested below;
- ``rewards``: ``_calculate_rewards``; ``logprobs``: old/reference log-probs
  (``_get_per_token_logps_and_entropies`` outside the loss);
- ``reject_sampling``: the extra rounds, all of them (generation and scoring included);
- ``backward``: ``training_step`` less the above: the loss's forward pass and backward;
- ``optimizer``: ``optimizer.step()`` (``on_pre_optimizer_step`` to ``on_optimizer_step``);
- ``eval``: real-time eval (and TRL's ``evaluate``); ``save``: ``_save_checkpoint``, which
  runs after the step's log, so a checkpoint's time shows in the next logged step.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import defaultdict
from typing import Any

import torch
from transformers import TrainerCallback
from trl import GRPOTrainer

from r1cli.config.features import GenerationSettings, LossSettings, RealtimeEvalSettings, RejectSamplingSettings
from r1cli.errors import ConfigError
from r1cli.rewards.calling import RewardCallError
from r1cli.training import activations, batch_ops, shared_prompts
from r1cli.training.flags import RunFlags
from r1cli.training.fused_head import compact_on_cpu, narrow_tiles_on_cpu
from r1cli.training.phases import PhaseTimer
from r1cli.training.realtime_eval import RealtimeEval, RealtimeEvalCallback, check_eval_dataset, run_realtime_eval
from r1cli.training.reject_sampling import Layout, RejectStats, run_rounds


def check_reward_calls(reward_funcs, step: str) -> None:
    """Stop training on a reward call that timed out or returned only non-finite values (see the module doc)."""
    for func in reward_funcs:
        report = getattr(func, "last_report", None)  # r1's guarded rewards (BoundReward) say what their last call did
        if report is None or not report.n:
            continue
        name = func.__name__
        if report.timed_out:
            raise RewardCallError.of(name, f"did not return within reward_timeout ({func.timeout:g}s)",
                                     hint="raise reward_timeout, or make the reward faster").at(step)
        if report.nonfinite == report.n:
            raise RewardCallError.of(name, f"returned no finite value ({report.first_nonfinite!r} and the like) for "
                                           f"any of the {report.n} completions").at(step)


def _nan_spread(row: torch.Tensor) -> torch.Tensor:
    valid = row[~torch.isnan(row)]
    return (valid.max() - valid.min()) if valid.numel() else torch.tensor(0.0)


class PhaseTimingCallback(TrainerCallback):
    """Starts the timer's first window when training begins and times ``optimizer.step()``."""

    def __init__(self, timer: PhaseTimer):
        self.timer = timer

    def on_train_begin(self, args, state, control, **kwargs):
        self.timer.start_window(state.global_step)

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        self.timer.begin("optimizer")

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.timer.end("optimizer")


_REJECT = RejectSamplingSettings()  # the defaults of the keyword arguments below, owned by the settings objects
_EVAL = RealtimeEvalSettings()
_GENERATION = GenerationSettings()
_LOSS = LossSettings()


class EnhancedGRPOTrainer(GRPOTrainer):
    """TRL's GRPOTrainer with reject sampling and real-time evaluation (both opt-in).

    The extra keyword arguments are the fields of :class:`~r1cli.config.features.RejectSamplingSettings`
    and :class:`~r1cli.config.features.RealtimeEvalSettings`: their defaults, choices and ranges are
    defined there (the recipe's keys use the same ones), and invalid values raise :class:`ConfigError`.
    """

    def __init__(
        self,
        model,
        reward_funcs,
        args=None,
        train_dataset=None,
        eval_dataset=None,
        processing_class=None,
        *,
        eval_steps: float | None = _EVAL.eval_steps,
        eval_on_start: bool = _EVAL.eval_on_start,
        max_eval_samples: int | None = _EVAL.max_eval_samples,
        eval_batch_size: int = _EVAL.eval_batch_size,
        eval_max_new_tokens: int | None = _EVAL.eval_max_new_tokens,
        eval_temperature: float = _EVAL.eval_temperature,
        eval_accuracy_reward: str | None = _EVAL.eval_accuracy_reward,
        use_reject_sampling: bool = _REJECT.use_reject_sampling,
        reject_sampling_mode: str = _REJECT.reject_sampling_mode,
        max_resample_attempts: int = _REJECT.max_resample_attempts,
        reject_sampling_threshold: float | None = _REJECT.reject_sampling_threshold,
        reject_sampling_fallback: str = _REJECT.reject_sampling_fallback,
        generation_loop: str = _GENERATION.generation_loop,
        loss_layout: str = _LOSS.loss_layout,
        keep_activations_that_fit: bool = False,
        run_flags: RunFlags | None = None,
        **kwargs: Any,
    ):
        self.reject_sampling = RejectSamplingSettings(
            use_reject_sampling=use_reject_sampling, reject_sampling_mode=reject_sampling_mode,
            max_resample_attempts=max_resample_attempts, reject_sampling_threshold=reject_sampling_threshold,
            reject_sampling_fallback=reject_sampling_fallback,
        )
        eval_settings = RealtimeEvalSettings(
            eval_steps=eval_steps, eval_on_start=eval_on_start, max_eval_samples=max_eval_samples,
            eval_batch_size=eval_batch_size, eval_max_new_tokens=eval_max_new_tokens, eval_temperature=eval_temperature,
            eval_accuracy_reward=eval_accuracy_reward,
        )
        check_eval_dataset(eval_settings, eval_dataset)
        self.generation = GenerationSettings(generation_loop=generation_loop)
        self.loss_settings = LossSettings(loss_layout=loss_layout)
        # The recipe left activation checkpointing to r1: on a CPU, skipped where it fits (training/activations.py).
        self.keep_activations_that_fit = keep_activations_that_fit
        self._activation_decisions_logged: set[bool] = set()
        self._activation_budget: int | None = None
        self._not_estimated: dict[int, str | None] = {}  # id(unwrapped model) -> why the estimate does not cover it
        super().__init__(
            model=model,
            reward_funcs=reward_funcs,
            args=args,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            **kwargs,
        )
        self.last_reject_stats: RejectStats | None = None
        self._packing_refusals: dict[int, str | None] = {}  # id(unwrapped model) -> why it takes no packed rows
        self._packing_refusals_logged: set[str] = set()
        self._last_rewards_per_func: torch.Tensor | None = None
        self._refill_order: list[int] = []
        self._refill_cursor = 0
        self._refill_epoch = 0
        if use_reject_sampling and reject_sampling_mode == "refill" and not hasattr(self.train_dataset, "__len__"):
            raise ConfigError(
                "reject_sampling_mode 'refill' needs a map-style train dataset (fresh prompts are drawn by index)",
                hint="use reject_sampling_mode: resample with a streaming dataset",
            )

        self.phases = PhaseTimer()
        # Before the real-time eval callback: a start-of-run eval falls in the first step's window.
        self.add_callback(PhaseTimingCallback(self.phases))
        self.realtime_eval = RealtimeEval.for_trainer(self, eval_settings, eval_dataset)
        if eval_dataset is not None and eval_settings.enabled:
            self.add_callback(RealtimeEvalCallback(self, run_flags))

    # -- per-phase timing (see the module doc) ---------------------------------------------

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        # Once per logged train step (the timer returns {} when no step passed since its last flush).
        if self.model.training:
            logs.update(self.phases.flush(self.state.global_step))
        super().log(logs, start_time)

    def training_step(self, model, inputs, num_items_in_batch=None):
        with self.phases.phase("backward"):  # generation etc. nested inside are their own phases
            return super().training_step(model, inputs, num_items_in_batch)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        with self.phases.phase("backward", absorb=True):  # the loss's log-probs are its forward pass
            return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, batch_size=None,
                                           compute_entropy=False, compute_aux_loss=False, **multimodal):
        # TRL's fused LM head, told to project only the scored (completion) positions on a CPU too, in
        # narrower tiles there (training/fused_head.py); the rows that share a prompt packed into one where
        # that applies (training/shared_prompts.py).
        with (self.phases.phase("logprobs"), compact_on_cpu(enabled=not self.args.torch_compile),
              narrow_tiles_on_cpu(input_ids.device), self._checkpointing_skipped(model, input_ids, multimodal)):
            if self._packs_shared_prompts(model, compute_aux_loss, multimodal):
                packed = shared_prompts.logps_and_entropies(
                    model, self.accelerator.unwrap_model(model), input_ids, attention_mask, logits_to_keep,
                    batch_size=batch_size, compute_entropy=compute_entropy, autocast=self.accelerator.autocast)
                if packed is not None:
                    return (*packed, None)
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, batch_size, compute_entropy, compute_aux_loss,
                **multimodal)

    def _checkpointing_skipped(self, model, input_ids, multimodal: dict):
        """Checkpointing off for this forward where the recipe left it to r1, on a CPU, for a model the estimate
        covers, when the batch's activations fit the run's budget (training/activations.py); otherwise as set."""
        if not (self.keep_activations_that_fit and torch.is_grad_enabled() and model.training
                and input_ids.device.type == "cpu" and not self.args.torch_compile
                and not any(value is not None for value in multimodal.values())):  # a vision tower is not estimated
            return contextlib.nullcontext()
        unwrapped = self.accelerator.unwrap_model(model)
        if id(unwrapped) not in self._not_estimated:
            self._not_estimated[id(unwrapped)] = reason = activations.not_estimated(unwrapped)
            if reason is not None:
                logging.getLogger("r1cli").info("activation checkpointing on: %s", reason)
        if self._not_estimated[id(unwrapped)] is not None:
            return contextlib.nullcontext()
        if self._activation_budget is None:
            # Once a run, before its first activations: later readings would count memory this process keeps
            # for reuse (training/allocator.py) as used. Processes that may share the machine split it.
            self._activation_budget = activations.budget(self.accelerator.num_processes)
        need = activations.estimate(unwrapped.config, input_ids.numel())
        fits = need <= self._activation_budget
        if fits not in self._activation_decisions_logged:
            self._activation_decisions_logged.add(fits)
            logging.getLogger("r1cli").info(
                "activation checkpointing %s: a micro-batch of %d positions needs about %d MiB of activations, "
                "%s the %d MiB allowed (%.0f%% of the memory available when training began, over %d process(es))",
                "off" if fits else "on", input_ids.numel(), need >> 20, "within" if fits else "more than",
                self._activation_budget >> 20, 100 * activations.SHARE_OF_AVAILABLE, self.accelerator.num_processes)
        return activations.checkpointing_off(model) if fits else contextlib.nullcontext()

    def _packs_shared_prompts(self, model, compute_aux_loss: bool, multimodal: dict) -> bool:
        """Whether this call may take packed rows; each distinct reason it may not goes to the log once. (A
        batch whose layout does not pack, or would not be cheaper, takes TRL's rows without a word.)"""
        if self.loss_settings.loss_layout != "shared_prompts":
            return False
        if self.args.torch_compile:
            reason = "torch_compile (a layout that changes with every batch would recompile)"
        elif compute_aux_loss:
            reason = "a MoE load-balancing loss reads the 2D attention mask"
        elif any(value is not None for value in multimodal.values()):
            reason = "image inputs"
        else:
            unwrapped = self.accelerator.unwrap_model(model)
            if id(unwrapped) not in self._packing_refusals:
                self._packing_refusals[id(unwrapped)] = shared_prompts.unsupported(unwrapped)
            reason = self._packing_refusals[id(unwrapped)]
        if reason is not None and reason not in self._packing_refusals_logged:
            self._packing_refusals_logged.add(reason)
            logging.getLogger("r1cli").info("loss_layout shared_prompts: TRL's padded rows: %s", reason)
        return reason is None

    def _save_checkpoint(self, model, trial):
        with self.phases.phase("save", absorb=True):
            return super()._save_checkpoint(model, trial)

    def evaluate(self, *args, **kwargs):
        with self.phases.phase("eval", absorb=True):
            return super().evaluate(*args, **kwargs)

    # -- generation -----------------------------------------------------------------------

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        """TRL's transformers generation, through r1's decoding loop where it reproduces ``generate``.

        The same context as TRL's (``unwrap_model_for_generation``, no grad, the model's mode as it
        is: a LoRA's dropout stays on, as in TRL), the same generation config, completions cut
        after the first EOS as TRL cuts them; vLLM, continuous batching, images, stop tokens other
        than TRL's EOS ids and anything else the loop cannot reproduce (``sampling.sampling_from_config``)
        go to TRL.
        """
        if self.generation.generation_loop == "r1" and not (self.use_vllm or self.use_transformers_continuous_batching
                                                            or images or multimodal_fields):
            from trl.extras.profiling import profiling_context
            from trl.models import unwrap_model_for_generation

            from r1cli.evaluation.decoding import decode, supports
            from r1cli.evaluation.sampling import sampling_from_config, stop_ids_from_config

            with (
                unwrap_model_for_generation(
                    self.model_wrapped, self.accelerator, gather_deepspeed3_params=self.args.ds3_gather_for_generation,
                    generation_kwargs=self.generation_kwargs,
                    gradient_checkpointing_kwargs=self.args.gradient_checkpointing_kwargs,
                ) as model,
                torch.no_grad(),
                self._dist.summon_full_params(self.model_wrapped, recurse=False),
            ):
                # Resolved as generate() resolves it, inside the context that applies generation_kwargs.
                sampling = sampling_from_config(self.generation_config, model.generation_config) if supports(model) else None
                stops = stop_ids_from_config(self.generation_config, model.generation_config)
                # TRL cuts completions at its own EOS ids: a generation_kwargs eos_token_id that differs
                # leaves padding in TRL's completions, which only TRL's path reproduces.
                if sampling is not None and stops == set(self.eos_token_ids):
                    with profiling_context(self, "transformers.generate"):
                        completion_ids = decode(model, prompt_ids, max_new_tokens=self.generation_config.max_new_tokens,
                                                sampling=sampling, stop_ids=stops, pad_id=self._tokenizer.pad_token_id)
                    return completion_ids, None
        return super()._generate_single_turn(prompt_ids, images, multimodal_fields, num_generations, has_tool_images)

    # -- real-time evaluation -------------------------------------------------------------

    def run_realtime_eval(self) -> dict[str, float]:
        """Generate for the eval prompts, score them with the trainer's rewards, log and return ``eval/*``."""
        with self.phases.phase("eval", absorb=True):
            metrics = run_realtime_eval(self, self.realtime_eval)
        # Trainer.log, not GRPOTrainer.log: GRPO's would flush (and average) the train metrics mid-step.
        # Trainer.log also clears control.should_log, which would drop this step's regular train log.
        should_log = self.control.should_log
        super(GRPOTrainer, self).log(dict(metrics))
        self.control.should_log = should_log
        # The start-of-run eval (and a keep-best save its log caused) is not the first step's time.
        self.phases.restart_before_first_step(self.state.global_step)
        return metrics

    # -- reject sampling ------------------------------------------------------------------

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        # Keep the gathered per-function rewards: reject sampling judges groups on them.
        step = f"at step {self.state.global_step + 1}"
        try:
            with self.phases.phase("rewards"):
                rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        except RewardCallError as exc:
            raise exc.at(step) from exc.__cause__
        check_reward_calls(self.reward_funcs, step)
        self._last_rewards_per_func = rewards
        return rewards

    def _total_rewards(self) -> list[float]:
        """Weighted total reward per completion of the last scored batch (all processes), NaN if unscorable."""
        per_func = self._last_rewards_per_func
        weights = self.reward_weights.to(per_func.device)
        totals = (per_func * weights.unsqueeze(0)).nansum(dim=1)
        totals[torch.isnan(per_func).all(dim=1)] = torch.nan
        return totals.tolist()

    def _generate_and_score_completions(self, inputs):
        with self.phases.phase("generate"):
            return self._generate_score_and_reject(inputs)

    def _generate_score_and_reject(self, inputs):
        if not self.reject_sampling.use_reject_sampling or not self.model.training:
            return super()._generate_and_score_completions(inputs)

        batch = super()._generate_and_score_completions(inputs)
        batch_ops.check_supported(batch)
        first_totals = self._total_rewards()
        # Per-function rewards of every global row as it will reach the loss (winning groups copied in below).
        trained = self._last_rewards_per_func.clone()
        G = self.num_generations
        layout = Layout(self.accelerator.num_processes, len(inputs), self.num_generations)
        process = self.accelerator.process_index
        pad_id = self._tokenizer.pad_token_id
        state: dict[str, Any] = {"batch": batch, "new": None}

        def run_round(round_index, plan):
            round_inputs = self._round_inputs(inputs, plan)
            with self._side_bookkeeping():
                state["new"] = super(EnhancedGRPOTrainer, self)._generate_and_score_completions(round_inputs)
            return self._total_rewards()

        def splice(plan, winners):
            pairs = [
                (row.target, i)
                for i, row in enumerate(plan.rows)
                if row.target is not None and winners.get(plan.candidates[row.group]) == row.group
            ]
            state["batch"] = batch_ops.splice_rows(state["batch"], state["new"], pairs, pad_id)
            # Group g of a round's gathered rewards is its rows g*G..g*G+G-1, whichever the plan's layout.
            for slot, group in winners.items():
                trained[slot * G:(slot + 1) * G] = self._last_rewards_per_func[group * G:(group + 1) * G]

        with self.phases.phase("reject_sampling", absorb=True):  # the extra rounds, generation and scoring included
            stats = run_rounds(
                first_totals,
                layout,
                process,
                max_rounds=self.reject_sampling.max_resample_attempts,
                fallback=self.reject_sampling.reject_sampling_fallback,
                threshold=self.reject_sampling.reject_sampling_threshold,
                run_round=run_round,
                splice=splice,
            )
        batch = state["batch"]
        if self.reject_sampling.reject_sampling_fallback == "mask":
            rows = [r for slot in stats.still_rejected_slots for r in layout.local_rows(slot, process)]
            batch = batch_ops.mask_rows(batch, rows)
        # Spliced or masked rows change the loss-token count; every process reaches this gather exactly once.
        batch["num_items_in_batch"] = self.accelerator.gather(batch_ops.loss_token_count(batch)).sum()
        self.last_reject_stats = stats
        metrics = stats.as_metrics()
        masked = stats.still_rejected_slots if self.reject_sampling.reject_sampling_fallback == "mask" else []
        metrics.update(self._trained_metrics(trained, masked))
        for key, value in metrics.items():
            self._metrics["train"][key].append(value)
        return batch

    def _trained_metrics(self, per_func: torch.Tensor, masked_slots: list[int]) -> dict[str, float]:
        """TRL's reward metrics, named ``trained/...``, of the batch that reaches the loss (global rows, every process alike)."""
        G = self.num_generations
        keep = torch.ones(per_func.shape[0], dtype=torch.bool, device=per_func.device)
        for slot in masked_slots:  # masked groups contribute nothing to the loss
            keep[slot * G:(slot + 1) * G] = False
        groups = keep.view(-1, G)[:, 0]
        totals = (per_func * self.reward_weights.to(per_func.device).unsqueeze(0)).nansum(dim=1)
        totals[torch.isnan(per_func).all(dim=1)] = torch.nan  # unscorable, as TRL leaves them out
        out = {f"trained/rewards/{name}/mean": torch.nanmean(per_func[keep, i]).item()
               for i, name in enumerate(self.reward_func_names)}
        kept = totals[keep]
        out["trained/reward"] = torch.nanmean(kept).item()
        grouped = totals.view(-1, G)[groups]
        if grouped.numel():
            spread = torch.stack([_nan_spread(row) for row in grouped])
            out["trained/frac_reward_zero_std"] = (spread <= 1e-6).float().mean().item()
        else:
            out["trained/frac_reward_zero_std"] = float("nan")
        return out

    def _round_inputs(self, inputs: list[dict], plan) -> list[dict]:
        """The local rows of a regeneration round: the same prompts (resample) or fresh ones (refill)."""
        if self.reject_sampling.reject_sampling_mode == "resample":
            return [dict(inputs[row.source]) for row in plan.rows]
        # One fresh prompt per group of the round's global batch, drawn identically on every process.
        fresh = [self._next_refill_index() for _ in plan.candidates]
        return [dict(self.train_dataset[fresh[row.group]]) for row in plan.rows]

    def _next_refill_index(self) -> int:
        # A seeded walk over shuffled dataset indices: fresh prompts cycle through the
        # whole train set before repeating, and every process draws the same sequence.
        if self._refill_cursor >= len(self._refill_order):
            order = list(range(len(self.train_dataset)))
            random.Random(f"{self.args.seed}:refill:{self._refill_epoch}").shuffle(order)
            self._refill_epoch += 1
            self._refill_order, self._refill_cursor = order, 0
        index = self._refill_order[self._refill_cursor]
        self._refill_cursor += 1
        return index

    @contextlib.contextmanager
    def _side_bookkeeping(self):
        """Run an extra generation round without adding to TRL's metrics and completions table.

        TRL's method still runs every collective (gathers of lengths, rewards,
        logs) the same way on every process; only where it writes is swapped.
        """
        saved_metrics, saved_logs = self._metrics["train"], self._logs
        self._metrics["train"] = defaultdict(list)
        self._logs = {key: defaultdict(list) if isinstance(value, dict) else [] for key, value in saved_logs.items()}
        try:
            yield
        finally:
            self._metrics["train"], self._logs = saved_metrics, saved_logs
            # Tokens generated in extra rounds were really processed: keep the running count current.
            self._metrics["train"]["num_tokens"] = [self.state.num_input_tokens_seen]
