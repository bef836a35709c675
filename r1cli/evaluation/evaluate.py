"""Evaluating a model, or a file of completions, on a math benchmark: the library behind ``r1 eval``.

::

    data = load_eval_set("gsm8k_test.jsonl", limit=50)              # preset detected from the columns
    report = evaluate_model("runs/gsm8k/final", data, num_samples=4, temperature=0.7, seed=0)
    report.metrics.accuracy, report.metrics.pass_at_k[4], report.metrics.maj_at_k
    scored = evaluate_completions("completions.jsonl")              # no model: scored as `r1 score` scores
    diff = compare(before, after)                                   # paired bootstrap CI on accuracy

Every score comes from the reward registry (``accuracy`` is always among the
rewards: it is the metric), so ``eval``, ``score`` and training agree on what
is correct. Completions files go through :func:`r1cli.scoring.score_file`
itself. Metric definitions live in :mod:`r1cli.evaluation.metrics`; results
are dataclasses, drawn by ``r1cli.ui.eval_view``. torch, transformers and
datasets load inside the functions that need them.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from r1cli.errors import DataError, ModelError, UsageError
from r1cli.evaluation import metrics as M
from r1cli.evaluation.benchmarks import AUTO, Columns, resolve_columns

BACKENDS = ("transformers", "vllm")
DEFAULT_MAX_NEW_TOKENS = 512
# Columns that never reach rewards as dataset columns: TRL's own arguments, and the gold (passed as `solution`).
_NOT_EXTRA = {"prompt", "solution", "completions", "prompts", "completion_ids", "trainer_state", "log_metric",
              "log_extra", "environments", "kwargs"}


# --- results ---------------------------------------------------------------------------------


@dataclass
class Sample:
    completion: str  # "" in a report of a completions file: read it with EvalReport.completion(sample)
    answer: str | None  # the extracted final answer (text), None if there is none
    num_tokens: int | None
    rewards: dict[str, float | None]
    reward: float | None  # weighted total, as TRL sums it
    finished: bool | None = None  # ended with EOS rather than at max_new_tokens
    stored_at: int | None = field(default=None, repr=False)  # offset of its row in the report's StoredRows


class StoredRows:
    """The scored rows of a completions file, kept on disk for as long as the report that reads them.

    A report of a large file holds each sample's offset here instead of its
    completion, so memory stays flat; ``--output`` reads the completions back
    one at a time. The temporary directory goes when this object does.
    """

    def __init__(self, scratch: tempfile.TemporaryDirectory, path: Path, completion_column: str):
        self.scratch, self.path, self.completion_column = scratch, path, completion_column

    def completion(self, offset: int) -> str:
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            return _text(json.loads(handle.readline())[self.completion_column])


@dataclass
class Item:
    index: int
    prompt: Any
    gold: Any
    gold_answer: str | None
    samples: list[Sample]
    majority: int | None = None  # index of a sample holding the majority answer


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
    stored: StoredRows | None = field(default=None, repr=False)

    def completion(self, sample: Sample) -> str:
        """A sample's completion text, wherever it is kept."""
        if sample.stored_at is None or self.stored is None:
            return sample.completion
        return self.stored.completion(sample.stored_at)

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


@dataclass
class Comparison:
    a: EvalReport
    b: EvalReport
    accuracy_ci: M.BootstrapCI  # on b - a

    def rows(self) -> dict[str, tuple]:
        """``{metric: (a, b, b - a)}`` for every scalar metric either side has (None where one lacks it)."""
        x, y = self.a.metrics.scalars(), self.b.metrics.scalars()
        out = {}
        for name in [*x, *(n for n in y if n not in x)]:
            va, vb = x.get(name), y.get(name)
            out[name] = (va, vb, None if va is None or vb is None else vb - va)
        return out

    def to_dict(self) -> dict:
        ci = self.accuracy_ci
        return {"a": self.a.to_dict(), "b": self.b.to_dict(),
                "difference": {name: delta for name, (_, _, delta) in self.rows().items()},
                "accuracy_ci": {"difference": ci.difference, "low": ci.low, "high": ci.high,
                                "confidence": ci.confidence, "resamples": ci.resamples, "items": ci.items,
                                "excludes_zero": ci.excludes_zero}}


# --- inputs ----------------------------------------------------------------------------------


@dataclass
class EvalSet:
    """What is evaluated: chat prompts, raw golds, and the other columns (custom rewards may read them)."""

    name: str
    split: str | None
    columns: Columns
    prompts: list[list[dict]]
    golds: list[Any]
    extra: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.prompts)


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise DataError(f"--limit {limit} selects no items", hint="use --limit 1 or more, or leave it out to evaluate every item")


def load_eval_set(
    dataset: str,
    *,
    split: str = "test",
    dataset_config: str | None = None,
    limit: int | None = None,
    benchmark: str | None = AUTO,
    prompt_column: str | None = None,
    solution_column: str | None = None,
    system_prompt: str | None = None,
) -> EvalSet:
    """The first ``limit`` rows of ``dataset`` (hub id, file or directory) as chat prompts and golds."""
    from r1cli.data.prompts import build_messages
    from r1cli.data.sources import load_source

    check_limit(limit)
    local = Path(str(dataset)).expanduser()
    if local.is_file() and _blank(local):
        raise DataError(f"dataset {dataset} is empty", hint="give a file with one item per line (GSM8K or MATH layout)")
    ds = load_source(str(dataset), config=dataset_config, split=split)
    if len(ds) == 0:
        raise DataError(f"dataset {dataset} (split {split!r}) has no rows", hint="check the file, or choose another --split")
    if limit is not None and limit < len(ds):
        ds = ds.select(range(limit))
    rows = ds.to_list()
    columns = resolve_columns(ds.column_names, benchmark=benchmark, prompt_column=prompt_column,
                              solution_column=solution_column, first_row=rows[0])
    extra = {c: [r[c] for r in rows] for c in ds.column_names if c not in _NOT_EXTRA | {columns.prompt, columns.solution}}
    return EvalSet(
        name=str(dataset), split=split, columns=columns,
        prompts=[build_messages(r[columns.prompt], system_prompt) for r in rows],
        golds=[r[columns.solution] for r in rows], extra=extra,
    )


def _blank(path: Path) -> bool:
    with open(path, "rb") as handle:
        return not any(line.strip() for line in handle)


def check_generation(*, num_samples: int, temperature: float, top_p: float, max_new_tokens: int, batch_size: int,
                     backend: str = "transformers") -> None:
    """Refuse settings generation cannot honour, as UsageErrors (before any model is loaded)."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}", hint=f"use one of: {', '.join(BACKENDS)}")
    for flag, value in (("--num-samples", num_samples), ("--max-new-tokens", max_new_tokens), ("--batch-size", batch_size)):
        if value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if temperature < 0:
        raise UsageError(f"--temperature must be 0 (greedy) or more, got {temperature}")
    if not 0 < top_p <= 1:
        raise UsageError(f"--top-p must be in (0, 1], got {top_p}")
    if temperature == 0 and num_samples > 1:
        raise UsageError(f"--num-samples {num_samples} needs --temperature above 0: greedy decoding would give "
                         f"{num_samples} identical samples", hint="e.g. --temperature 0.7, or --num-samples 1")


def check_model_source(model: str, gguf_file: str | None = None) -> None:
    """Fail fast, before any data or other model is loaded: a missing path, or a GGUF without `gguf`."""
    from r1cli.hardware import package_available
    from r1cli.models import resolve_source

    _, gguf = resolve_source(model, gguf_file)
    if gguf is not None and not package_available("gguf"):
        raise ModelError("loading a GGUF file needs the `gguf` package, which is not installed", hint="pip install gguf")


def reward_calculator(rewards: Sequence[str] | None = None, weights: Sequence[float] | None = None,
                      reward_kwargs: dict | None = None):
    """(calculator, accuracy metric name). ``accuracy`` is added (weight 0) when the rewards lack it."""
    from r1cli.rewards import get_reward_calculator, get_reward_spec
    from r1cli.scoring import DEFAULT_REWARDS

    refs = list(rewards) if rewards else list(DEFAULT_REWARDS)
    weights = list(weights) if weights is not None else None
    if not any(get_reward_spec(ref).name == "accuracy" for ref in refs):
        refs.insert(0, "accuracy")
        # Measured, not added to the total the user asked for (a wrong weight count is reported as theirs).
        if weights is None or len(weights) == len(refs) - 1:
            weights = [0.0] + (weights if weights is not None else [1.0] * (len(refs) - 1))
    calc = get_reward_calculator(refs, weights, reward_kwargs)
    return calc, next(n for n, s in zip(calc.names, calc.specs) if s.name == "accuracy")


# --- evaluating a model ----------------------------------------------------------------------


def evaluate_model(
    model: str,
    data: EvalSet,
    *,
    num_samples: int = 1,
    temperature: float = 0.0,
    top_p: float = 1.0,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    batch_size: int = 16,
    seed: int = 0,
    rewards: Sequence[str] | None = None,
    reward_weights: Sequence[float] | None = None,
    reward_kwargs: dict | None = None,
    chat_template: str | None = None,
    gguf_file: str | None = None,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    backend: str = "transformers",
    progress: Callable | None = None,
) -> EvalReport:
    """Generate ``num_samples`` completions per item with ``model``, score them, and compute the metrics.

    Deterministic for a fixed ``seed`` and ``batch_size`` (see
    :func:`r1cli.evaluation.generation.generate`). On a machine without a GPU,
    ``dtype="auto"`` means float32: bfloat16 matrix products are slow on most CPUs.
    """
    from r1cli.hardware import has_gpu

    check_generation(num_samples=num_samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                     batch_size=batch_size, backend=backend)
    calc, acc = reward_calculator(rewards, reward_weights, reward_kwargs)
    check_model_source(model, gguf_file)
    started = time.perf_counter()
    gpu = has_gpu()
    dtype = "float32" if dtype == "auto" and not gpu else dtype
    settings = dict(num_samples=num_samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                    batch_size=batch_size, seed=seed, backend=backend, dtype=dtype, rewards=list(calc.names),
                    weights=list(calc.weights))
    gen_kwargs = dict(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, num_samples=num_samples,
                      seed=seed, progress=progress)

    from r1cli.models import load_tokenizer

    tokenizer = load_tokenizer(model, chat_template=chat_template, gguf_file=gguf_file, trust_remote_code=trust_remote_code)
    if backend == "vllm":
        from r1cli.evaluation import vllm_backend

        gen_started = time.perf_counter()
        results = vllm_backend.generate(model, tokenizer, data.prompts, gguf_file=gguf_file, dtype=dtype,
                                        trust_remote_code=trust_remote_code, **gen_kwargs)
    else:
        from r1cli.evaluation.generation import generate
        from r1cli.models import load_model

        lm = load_model(model, dtype=dtype, gguf_file=gguf_file, trust_remote_code=trust_remote_code,
                        device="cuda" if gpu else None)
        gen_started = time.perf_counter()
        results = generate(lm, tokenizer, data.prompts, batch_size=batch_size, **gen_kwargs)
        del lm
    gen_seconds = time.perf_counter() - gen_started

    k = num_samples
    flat = [c for samples in results for c in samples]
    columns = {name: _repeat(values, k) for name, values in data.extra.items()}
    columns.update(solution=_repeat(data.golds, k), prompts=_repeat(data.prompts, k),
                   completion_ids=[c.token_ids for c in flat])
    scores = calc.score([c.text for c in flat], **columns)
    items = []
    for i, samples in enumerate(results):
        rows = range(i * k, (i + 1) * k)
        items.append(Item(i, data.prompts[i], data.golds[i], None, [
            Sample(c.text, None, c.num_tokens, scores.row(r), _finite(scores.total[r]), c.finished)
            for c, r in zip(samples, rows)
        ]))
    _finish_items(items)
    return EvalReport(
        label=str(model), dataset=data.name, split=data.split, benchmark=data.columns.benchmark,
        columns={"prompt": data.columns.prompt, "solution": data.columns.solution}, settings=settings,
        metrics=summarise(items, calc, acc), items=items, accuracy_reward=acc,
        seconds=time.perf_counter() - started, generation_seconds=gen_seconds,
        tokens_generated=sum(c.num_tokens for c in flat),
    )


def _repeat(values: Sequence, k: int) -> list:
    return [v for v in values for _ in range(k)]


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


def _answer(text: str):
    """(parsed answer or None, answer text or None) of one completion."""
    from r1cli.rewards.accuracy import extract_answer, parse_answer

    parsed = parse_answer(text)
    return parsed, parsed.text if parsed is not None else extract_answer(text)


def _finish_item(item: Item, parsed: list) -> None:
    """Gold answer text and the majority sample of one item, from its samples' parsed answers."""
    from r1cli.rewards.accuracy import answers_equal, gold_answer_text

    item.gold_answer = gold_answer_text(item.gold)
    item.majority = M.majority_index(parsed, lambda x, y: bool(answers_equal(x, y)), key=lambda a: a.key)


def _finish_items(items: list[Item]) -> None:
    """Gold answer text, each sample's extracted answer, and the majority sample of every item."""
    for item in items:
        answers = [_answer(s.completion) for s in item.samples]
        for sample, (_, text) in zip(item.samples, answers):
            sample.answer = text
        _finish_item(item, [parsed for parsed, _ in answers])


def _format_name(calc) -> str | None:
    return next((n for n, spec in zip(calc.names, calc.specs) if spec.name == "format"), None)


def summarise(items: Sequence[Item], calc, acc: str, format_scores: Sequence[float | None] | None = None) -> EvalMetrics:
    """Every metric of a list of scored items (see :mod:`r1cli.evaluation.metrics` for the definitions).

    ``format_scores`` (one per sample, in order) are needed only when ``format``
    is not among the rewards and the samples do not hold their completions.
    """
    if not items:
        raise DataError("nothing was evaluated: no items")
    per_item = [[s.rewards[acc] for s in item.samples] for item in items]
    verifiable = [(scores, item) for scores, item in zip(per_item, items) if M.correct_count(scores) is not None]
    samples = [s for item in items for s in item.samples]
    k_min = min(len(item.samples) for item in items)
    fmt = _format_name(calc)
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


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None


# --- evaluating a file of completions --------------------------------------------------------


def evaluate_completions(
    path: str | Path,
    *,
    rewards: Sequence[str] | None = None,
    reward_weights: Sequence[float] | None = None,
    reward_kwargs: dict | None = None,
    completion_column: str = "completion",
    prompt_column: str = "prompt",
    solution_column: str | None = None,
    workers: int = 1,
    skip_invalid: bool = False,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> EvalReport:
    """Metrics of completions that already exist, scored by :func:`r1cli.scoring.score_file` (as ``r1 score``).

    One row per completion, as ``r1 score`` reads them; rows with the same
    prompt (and gold) are the K samples of one item. ``num_tokens`` (or
    ``completion_ids``) in a row gives its length in tokens. A results file
    written by ``r1 eval --output`` (one row per item, with ``samples``) is
    read too, so a run can be re-scored with other rewards.
    """
    from r1cli.scoring import score_file

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    started = time.perf_counter()
    calc, acc = reward_calculator(rewards, reward_weights, reward_kwargs)
    # The scored rows stay on disk for the report's lifetime (see StoredRows); memory holds small results only.
    scratch = tempfile.TemporaryDirectory(prefix="r1-eval-")
    tmp = Path(scratch.name)
    source = path
    if _is_results_file(path):
        source = _flatten_results(path, tmp / "samples.jsonl")
        completion_column, prompt_column, solution_column = "completion", "prompt", "solution"
    scored = tmp / "scored.jsonl"
    report = score_file(source, rewards=calc.refs, weights=calc.weights,
                        reward_kwargs=dict(zip(calc.names, calc.kwargs)), completion_column=completion_column,
                        solution_column=solution_column, workers=workers, skip_invalid=skip_invalid,
                        output=scored, force=True, on_progress=on_progress)
    if source != path:
        source.unlink()
    items, format_scores = _group_scored(scored, calc, report.solution_column, completion_column, prompt_column)
    return EvalReport(
        label=str(path), dataset=str(path), split=None, benchmark=None,
        columns={"prompt": prompt_column, "completion": completion_column, "solution": report.solution_column},
        settings={"source": "completions", "rewards": list(calc.names), "weights": list(calc.weights)},
        metrics=summarise(items, calc, acc, format_scores), items=items, accuracy_reward=acc,
        seconds=time.perf_counter() - started, skipped=report.skipped, stored=StoredRows(scratch, scored, completion_column),
    )


def _group_scored(scored: Path, calc, gold_key: str | None, completion_column: str,
                  prompt_column: str) -> tuple[list[Item], list[float | None] | None]:
    """Stream the scored rows into items (rows with the same prompt and gold are one item's samples).

    Each sample keeps its answer, scores and the offset of its row, not its
    completion. Returns the items and, when ``format`` is not among the rewards,
    each sample's format score in the order :func:`summarise` reads them.
    """
    from r1cli.scoring import read_lines

    format_calc = None
    if _format_name(calc) is None:
        from r1cli.rewards import get_reward_calculator

        format_calc = get_reward_calculator(["format"])
    groups: dict[str, Item] = {}
    parsed: dict[int, list] = {}
    formats: dict[int, list] = {}
    for index, (_, raw, done) in enumerate(read_lines(scored)):
        row = json.loads(raw)
        gold = row.get(gold_key) if gold_key else row.get("solution", row.get("answer"))
        prompt = row.get(prompt_column)
        key = json.dumps([prompt, gold, row.get("model")], sort_keys=True, default=str) if prompt is not None else f"#{index}"
        if key not in groups:
            groups[key] = Item(len(groups), prompt, gold, None, [])
        item = groups[key]
        text = _text(row[completion_column])
        answer, answer_text = _answer(text)
        item.samples.append(Sample(
            completion="", answer=answer_text, num_tokens=_tokens(row),
            rewards={n: row["rewards"][n] for n in calc.names}, reward=row.get("reward"), finished=row.get("finished"),
            stored_at=done - len(raw),
        ))
        parsed.setdefault(item.index, []).append(answer)
        if format_calc is not None:
            formats.setdefault(item.index, []).append(format_calc.score([text]).per_reward["format"][0])
    items = list(groups.values())
    for item in items:
        _finish_item(item, parsed[item.index])
    format_scores = [v for item in items for v in formats[item.index]] if format_calc is not None else None
    return items, format_scores


def _text(value: Any) -> str:
    from r1cli.rewards.text import completion_text

    return completion_text(value)


def _tokens(row: dict) -> int | None:
    if isinstance(row.get("num_tokens"), int):
        return row["num_tokens"]
    ids = row.get("completion_ids")
    return len(ids) if isinstance(ids, list) else None


def _is_results_file(path: Path) -> bool:
    from r1cli.scoring import read_lines

    for _, raw, _ in read_lines(path):
        try:
            row = json.loads(raw)
        except (ValueError, RecursionError):
            return False  # score_file reports the bad line with its number
        return isinstance(row, dict) and isinstance(row.get("samples"), list) and "completion" not in row
    return False


def _flatten_results(path: Path, out: Path) -> Path:
    """An ``r1 eval --output`` file as one row per sample (prompt, completion, solution, num_tokens)."""
    from r1cli.files import JSON_ERRORS
    from r1cli.scoring import read_lines

    with open(out, "w", encoding="utf-8", errors=JSON_ERRORS) as handle:
        for number, raw, _ in read_lines(path):
            try:
                item = json.loads(raw)
                samples = item["samples"]
                rows = [{"prompt": item.get("prompt"), "completion": s["completion"], "solution": item.get("gold"),
                         "num_tokens": s.get("num_tokens"), "finished": s.get("finished"), "model": item.get("model")}
                        for s in samples]
            except (ValueError, KeyError, TypeError, RecursionError) as exc:
                raise DataError(f"{path}:{number}: not an r1 eval results line ({type(exc).__name__}: {exc})",
                                hint="each line needs prompt, gold and samples[].completion") from None
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


# --- comparing and writing -------------------------------------------------------------------


def compare(a: EvalReport, b: EvalReport, *, resamples: int = 10_000, confidence: float = 0.95, seed: int = 0) -> Comparison:
    """B against A on the same items: every metric's difference and a paired bootstrap CI on accuracy."""
    if len(a.items) != len(b.items) or any(x.gold != y.gold for x, y in zip(a.items, b.items)):
        raise UsageError("the two evaluations are not on the same items", hint="evaluate both on the same data and --limit")
    pairs = [(x, y) for x, y in zip(a.item_accuracies(), b.item_accuracies()) if x is not None and y is not None]
    if not pairs:
        raise DataError("no item could be verified for both models", hint="check the gold column (--solution-column)")
    ci = M.paired_bootstrap([x for x, _ in pairs], [y for _, y in pairs], resamples=resamples, confidence=confidence, seed=seed)
    return Comparison(a, b, ci)


def item_record(report: EvalReport, item: Item) -> dict:
    """One ``--output`` line: prompt, gold, every sample with its answer and rewards, and the decoding settings."""
    from r1cli.evaluation.baseline import decoding_of

    scores = [s.rewards[report.accuracy_reward] for s in item.samples]
    majority = item.samples[item.majority] if item.majority is not None else None
    return {
        "model": report.label, "decoding": decoding_of(report.settings), "index": item.index, "prompt": item.prompt, "gold": item.gold,
        "gold_answer": item.gold_answer, "accuracy": M.item_accuracy(scores),
        "majority_answer": majority.answer if majority else None,
        "majority_correct": M.majority_correct(scores, item.majority),
        "samples": [_sample_record(report, s) for s in item.samples],
    }


def _sample_record(report: EvalReport, sample: Sample) -> dict:
    record = asdict(sample)
    del record["stored_at"]
    record["completion"] = report.completion(sample)
    return record


def write_results(reports: Sequence[EvalReport], path: str | Path, *, force: bool = False) -> None:
    """Every item of every report, one JSON line each (atomically; an existing file only with ``force``)."""
    from r1cli.files import JSON_ERRORS, atomic_open

    with atomic_open(path, "w", force=force, errors=JSON_ERRORS) as handle:
        for report in reports:
            for item in report.items:
                handle.write(json.dumps(item_record(report, item), ensure_ascii=False, default=str) + "\n")
            report.output = str(path)
