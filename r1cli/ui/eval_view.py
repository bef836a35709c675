"""Drawing `r1 eval` results: the metrics table, two models side by side, and the generation progress bar."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from typing import Any, Callable, Iterator

from rich.markup import escape
from rich.table import Table

from r1cli.evaluation.compare import Comparison
from r1cli.evaluation.results import EvalReport
from r1cli.ui.console import console, err_console

# Metrics shown as percentages; the rest (token counts, rewards) as plain numbers.
_PERCENT = ("accuracy", "pass@", "maj@", "format_compliance")


def _fmt(name: str, value: Any, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sign = "+" if signed else ""
    if name.startswith(_PERCENT):
        return f"{value * 100:{sign}.1f}%"
    if name in ("mean_tokens",):
        return f"{value:{sign}.1f}"
    if name == "unverifiable":
        return f"{value:{sign}d}"
    return f"{value:{sign}.3f}"


def _label(name: str) -> str:
    return {"format_compliance": "format compliance", "mean_tokens": "mean tokens",
            "reward": "total reward"}.get(name, name.replace("reward/", "reward: "))


def _title(report: EvalReport) -> str:
    m = report.metrics
    what = f"{m.items} items" + (f" × {m.samples_per_item} samples" if m.samples_per_item > 1 else "")
    if report.label == report.dataset:  # a completions file: the file is both
        return f"{escape(report.label)}: {what}"
    preset = f" ({report.benchmark})" if report.benchmark else ""
    return f"{escape(report.label)} on {escape(report.dataset)}{preset}: {what}"


def _speed(report: EvalReport) -> str:
    parts = [f"{report.seconds:.1f}s"]
    if report.tokens_per_s is not None:
        parts.append(f"{report.items_per_s:.2f} items/s · {report.tokens_per_s:,.0f} tokens/s")
    if report.metrics.none_samples:
        parts.append(f"{report.metrics.none_samples} unverifiable sample(s)")
    if report.skipped:
        parts.append(f"{report.skipped} invalid line(s) skipped")
    if report.output:
        parts.append(f"written to {escape(report.output)}")
    return " · ".join(parts)


def render_report(report: EvalReport) -> None:
    from rich import box

    # The title goes on its own line: a table title wraps to the (narrow) table's width.
    console.print(f"[bold]{_title(report)}[/]", soft_wrap=True)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report.metrics.scalars().items():
        table.add_row(_label(name), _fmt(name, value))
    console.print(table)
    console.print(f"[dim]{_speed(report)}[/]", soft_wrap=True)


def render_comparison(comparison: Comparison) -> None:
    from rich import box

    a, b = comparison.a, comparison.b
    console.print(f"[bold]A:[/] {_title(a)}\n[bold]B:[/] {_title(b)}", soft_wrap=True)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for header in ("metric", "A", "B", "B − A"):
        table.add_column(header, justify="left" if header == "metric" else "right")
    for name, (x, y, delta) in comparison.rows().items():
        table.add_row(_label(name), _fmt(name, x), _fmt(name, y), _fmt(name, delta, signed=True))
    console.print(table)
    ci = comparison.accuracy_ci
    verdict = ("B is better" if ci.low > 0 else "B is worse") if ci.excludes_zero else "the difference could be noise"
    console.print(f"accuracy B − A: {ci.difference * 100:+.1f} points, {ci.confidence:.0%} CI "
                  f"[{ci.low * 100:+.1f}, {ci.high * 100:+.1f}] (paired bootstrap, {ci.items} items, "
                  f"{ci.resamples:,} resamples): [bold]{verdict}[/]", soft_wrap=True)
    console.print(f"[dim]A: {_speed(a)}[/]", soft_wrap=True)
    console.print(f"[dim]B: {_speed(b)}[/]", soft_wrap=True)


def print_json(data: dict) -> None:
    # Plain stdout, not Rich: machine-readable output must not be wrapped or styled.
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


LABEL_CHARS = 24  # the model as the bar names it: enough to tell runs apart, short enough for 80 columns


def short_label(label: str, limit: int = LABEL_CHARS) -> str:
    """A model path or id shortened from the left ("…/runs/grpo"), keeping its most telling end."""
    label = str(label).rstrip("/")
    return label if len(label) <= limit else "…" + label[-(limit - 1):]


def progress_columns() -> tuple:
    """The bar's columns, sized for an 80-column terminal: what, bar, done/total, tokens/s, time left."""
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

    return (
        TextColumn("{task.description}"),
        BarColumn(bar_width=16),
        TextColumn("{task.fields[count]}"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )


@contextlib.contextmanager
def progress(label: str, enabled: bool = True) -> Iterator[Callable]:
    """A bar on stderr driven by generation's progress events (items done, tokens/s, time left).

    Until the first event (the model is still loading) it says so instead of showing ``0/?``.
    A no-op callback when disabled or when stderr is not a terminal (logs stay clean).
    """
    if not enabled or not err_console.is_terminal:
        yield lambda event: None
        return
    from rich.progress import Progress

    name = escape(short_label(label))
    with Progress(*progress_columns(), console=err_console, transient=True) as bar:
        task = bar.add_task(f"loading {name}", total=None, count="", rate="")

        def update(event) -> None:
            bar.update(task, description=f"generating {name}", completed=event.items_done, total=event.items_total,
                       count=f"{event.items_done}/{event.items_total}", rate=f"{event.tokens_per_s:,.0f} tok/s")

        yield update
