"""What ``r1 eval`` returns: samples, items, metrics and the report, and :func:`summarise` that computes the metrics.

Metric definitions live in :mod:`r1cli.evaluation.metrics`; ``r1cli.ui.eval_view`` draws these dataclasses.
Which reward is accuracy is the calculator's rule (``calc.accuracy_name``); ``r1 eval`` measures with
``calc.with_verifier()``, so a report always has one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from r1cli.errors import DataError
from r1cli.evaluation import metrics as M


@dataclass
class Sample:
    completion: str  # "" in a report of a completions file: read it with EvalReport.completion(sample)
    answer: str | None  # the extracted final answer (text), None if there is none
    num_tokens: int | None
    rewards: dict[str, float | None]
    reward: float | None  # weighted total, as TRL sums it
    finished: bool | None = None  # ended with EOS rather than at max_new_tokens
    source: tuple[int, int | None] | None = field(default=None, repr=False)  # (line offset, sample index) in the source file


class SourceRows:
    """Where a completions-file report reads its completions back: the source file itself, by offset.

    A report of a large file holds each sample's offset instead of its completion,
    so memory stays flat; ``--output`` reads the completions back one at a time.
    """

    def __init__(self, path: Path, completion_column: str):
        self.path, self.completion_column = Path(path), completion_column

    def completion(self, source: tuple[int, int | None]) -> str:
        from r1cli.scoring.rows import completion_at

        return completion_at(self.path, source[0], source[1], self.completion_column)


@dataclass
class Item:
    index: int
    prompt: Any
    gold: Any
    gold_answer: str | None
    samples: list[Sample]
    majority: int | None = None  # index of a sample holding the majority answer


def finish_item(item: Item, parsed: Sequence, timeout: float | None = None) -> None:
    """Gold answer text and the majority sample of one item, from its samples' parsed answers (parsed once, when scored).

    Answers are compared under ``timeout``, the accuracy reward's own limit (``Batch.timeout``).
    """
    from r1cli.rewards.answer_text import gold_answer_text
    from r1cli.rewards.math_answers import DEFAULT_TIMEOUT, answers_equal

    limit = DEFAULT_TIMEOUT if timeout is None else timeout
    item.gold_answer = gold_answer_text(item.gold)
    item.majority = M.majority_index(list(parsed), lambda x, y: bool(answers_equal(x, y, timeout=limit)),
                                     key=lambda a: a.key)


@dataclass
class EvalMetrics:
    items: int
    samples_per_item: int  # K (the smallest count when a completions file has uneven groups)
    accuracy: float | None  # pass@1 averaged over the K samples, over verifiable items
    pass_at_k: dict[int, float | None]
    maj_at_k: float | None
    format_compliance: float | None  # share of samples whose `format` reward is 1.0
    mean_tokens: float | None
    reward_means: dict[str, float | None]
    reward_total: float | None
    unverifiable: int  # items whose gold cannot be parsed: left out of accuracy, pass@k, maj@k
    none_samples: int  # samples whose accuracy is None (unparseable gold, or a timeout)

    def scalars(self) -> dict[str, float | int | None]:
        """Every metric as one flat, ordered ``{name: value}`` (what the table shows)."""
        out: dict[str, float | int | None] = {"accuracy": self.accuracy}
        # pass@1 is the accuracy, and with one sample maj@1 is too: shown once, as accuracy.
        out.update((f"pass@{k}", v) for k, v in self.pass_at_k.items() if k > 1)
        if self.samples_per_item > 1:
            out[f"maj@{self.samples_per_item}"] = self.maj_at_k
        out["format_compliance"] = self.format_compliance
        out["mean_tokens"] = self.mean_tokens
        out.update((f"reward/{name}", v) for name, v in self.reward_means.items())
        out["reward"] = self.reward_total
        out["unverifiable"] = self.unverifiable
        return out

    def to_dict(self) -> dict:
        out = asdict(self)
        out["pass_at_k"] = {f"pass@{k}": v for k, v in self.pass_at_k.items()}
        out["maj_at_k"] = {f"maj@{self.samples_per_item}": self.maj_at_k}
        return out


@dataclass
class EvalReport:
    label: str  # the model as given, or the completions file
    dataset: str
    split: str | None
    benchmark: str | None
    columns: dict[str, str | None]
    settings: dict[str, Any]
    metrics: EvalMetrics
    items: list[Item]
    accuracy_reward: str
    seconds: float
    generation_seconds: float | None = None
    tokens_generated: int | None = None
    output: str | None = None
    skipped: int = 0  # invalid lines of a completions file left out (skip_invalid)
    stored: SourceRows | None = field(default=None, repr=False)

    def completion(self, sample: Sample) -> str:
        """A sample's completion text, wherever it is kept."""
        if sample.source is None or self.stored is None:
            return sample.completion
        return self.stored.completion(sample.source)

    @property
    def tokens_per_s(self) -> float | None:
        if not self.generation_seconds or self.tokens_generated is None:
            return None
        return self.tokens_generated / self.generation_seconds

    @property
    def items_per_s(self) -> float | None:
        return len(self.items) / self.generation_seconds if self.generation_seconds else None

    def item_accuracies(self) -> list[float | None]:
        return [M.item_accuracy([s.rewards[self.accuracy_reward] for s in item.samples]) for item in self.items]

    def to_dict(self) -> dict:
        """The ``--json`` summary (per-item results go to ``--output``)."""
        return {
            "model": self.label, "dataset": self.dataset, "split": self.split, "benchmark": self.benchmark,
            "columns": self.columns, "settings": self.settings, "metrics": self.metrics.to_dict(),
            "seconds": round(self.seconds, 3),
            "generation_seconds": None if self.generation_seconds is None else round(self.generation_seconds, 3),
            "tokens_generated": self.tokens_generated,
            "tokens_per_s": None if self.tokens_per_s is None else round(self.tokens_per_s, 1),
            "items_per_s": None if self.items_per_s is None else round(self.items_per_s, 2),
            "output": self.output,
            "skipped": self.skipped,
        }


def format_name(calc) -> str | None:
    """The metric name of the `format` reward among ``calc``'s, if it is one (format compliance reads it)."""
    return next((n for n, spec in zip(calc.names, calc.specs) if spec.name == "format"), None)


def summarise(items: Sequence[Item], calc, format_scores: Sequence[float | None] | None = None) -> EvalMetrics:
    """Every metric of a list of scored items (see :mod:`r1cli.evaluation.metrics` for the definitions).

    Accuracy is ``calc.accuracy_name``'s score. ``format_scores`` (one per sample, in order) are
    needed only when ``format`` is not among the rewards and the samples do not hold their completions.
    """
    if not items:
        raise DataError("nothing was evaluated: no items")
    acc = calc.accuracy_name
    per_item = [[s.rewards[acc] for s in item.samples] for item in items]
    verifiable = [(scores, item) for scores, item in zip(per_item, items) if M.correct_count(scores) is not None]
    samples = [s for item in items for s in item.samples]
    k_min = min(len(item.samples) for item in items)
    fmt = format_name(calc)
    if fmt is not None:
        format_scores = [s.rewards[fmt] for s in samples]
    elif format_scores is None:  # not among the rewards: measured with the registry's `format` at its defaults
        from r1cli.rewards import get_reward_calculator

        format_scores = get_reward_calculator(["format"]).score([s.completion for s in samples]).per_reward["format"]
    return EvalMetrics(
        items=len(items),
        samples_per_item=k_min,
        accuracy=_mean(M.item_accuracy(scores) for scores, _ in verifiable),
        pass_at_k={k: M.mean_pass_at_k(per_item, k) for k in M.default_ks(k_min)},
        maj_at_k=_mean(M.majority_correct(scores, item.majority) for scores, item in verifiable),
        format_compliance=_mean(1.0 if v is not None and v >= 1.0 else 0.0 for v in format_scores),
        mean_tokens=_mean(s.num_tokens for s in samples),
        reward_means={name: _mean(s.rewards[name] for s in samples) for name in calc.names},
        reward_total=_mean(s.reward for s in samples),
        unverifiable=len(items) - len(verifiable),
        none_samples=sum(1 for scores in per_item for v in scores if v is None),
    )


def finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None
