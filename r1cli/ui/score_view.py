"""Drawing a ScoreReport: the per-reward table with histograms, accuracy, flags, example rows; and the progress bar."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from typing import Callable, Iterator

from rich.markup import escape
from rich.table import Table

from r1cli.rewards.calculator import NO_VERIFIER
from r1cli.scoring import AccuracySummary, Example, RewardSummary, ScoreReport
from r1cli.ui.console import console, err_console

_BARS = "▁▂▃▄▅▆▇█"


def histogram_bars(counts: list[int]) -> str:
    """One character per bin, height by count; a space for an empty bin."""
    top = max(counts, default=0)
    if top == 0:
        return ""
    return "".join(" " if c == 0 else _BARS[min(len(_BARS) - 1, (c * len(_BARS) - 1) // top)] for c in counts)


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def _row(s: RewardSummary, stack_timeouts: bool = False) -> list[str]:
    zeros = f"{s.zero_share:.0%}" if s.zero_share is not None else "—"
    nulls = str(s.nulls) + (("\n" if stack_timeouts else " ") + f"({s.timeouts} t/o)" if s.timeouts else "")
    weight = "" if s.weight is None else f"{s.weight:g}"
    return [escape(s.name), weight, _num(s.mean), _num(s.std), _num(s.min, 2), _num(s.max, 2), zeros, nulls,
            histogram_bars(s.histogram), _num(s.corr_accuracy, 2)]


def _width(rows: list[list[str]], name_width: int) -> int:
    """The table's width with these rows: every column as wide as its widest cell, one space between columns."""
    from rich.text import Text

    headers = ("reward", "w", "mean", "std", "min", "max", "zeros", "None", "histogram", "r(acc)")
    widths = [max(len(h), *(Text.from_markup(r[i]).cell_len for r in rows)) for i, h in enumerate(headers)]
    widths[0] = name_width
    return sum(widths) + len(widths) - 1


def render_report(report: ScoreReport) -> None:
    from rich import box

    # Sized for an 80-column terminal: one space between columns, long reward names fold.
    table = Table(title=f"{escape(report.path)}: {report.rows} rows", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, padding=(0, 0), show_edge=False)
    name_width = min(18, max(len(n) for n in [*report.rewards, "total"]))
    for header in ("reward", "w", "mean", "std", "min", "max", "zeros", "None", "histogram", "r(acc)"):
        if header == "reward":
            table.add_column(header, min_width=name_width, overflow="fold")
        else:
            table.add_column(header, justify="left" if header == "histogram" else "right", no_wrap=True)
    rows = [_row(summary) for summary in report.rewards.values()]
    total = _row(report.total)
    if _width([*rows, total], name_width) > console.width:
        # Too wide for the terminal: the timeouts go under the None count rather than cut off r(acc).
        rows = [_row(summary, stack_timeouts=True) for summary in report.rewards.values()]
    for cells in rows:
        table.add_row(*cells)
    table.add_section()
    total[0] = "[bold]total[/]"
    table.add_row(*total)
    console.print(table)
    if any(s.edges for s in report.rewards.values()):
        console.print("[dim]w: weight · histogram: 10 bins over each reward's possible range · "
                      "r(acc): correlation with accuracy[/]", soft_wrap=True)

    speed = f"{report.rows_per_s:,.0f} rows/s" if report.seconds > 0 else ""
    parts = [f"{report.rows} rows", f"{report.seconds:.1f}s", speed, f"{report.workers} worker{'s' if report.workers != 1 else ''}"]
    if report.skipped:
        parts.append(f"{report.skipped} skipped")
    if report.output:
        parts.append(f"written to {escape(report.output)}")
    console.print("[dim]" + " · ".join(p for p in parts if p) + "[/]", soft_wrap=True)
    console.print(accuracy_line(report.accuracy), soft_wrap=True)

    for flag in report.flags:
        console.print(f"[yellow]![/] {escape(flag.message)}", soft_wrap=True)
    _examples("worst", report.worst)
    _examples("best", report.best)


def accuracy_line(acc: AccuracySummary | None) -> str:
    """Accuracy as the verifying reward measures it, or that no reward verifies answers."""
    if acc is None:
        return f"accuracy: [yellow]{NO_VERIFIER}[/]"
    share = f"{acc.share:.1%}" if acc.share is not None else "—"
    line = f"accuracy ({escape(acc.reward)}): {share} of {acc.verifiable} verifiable row(s) correct"
    if acc.unverified:
        line += f" · {acc.unverified} could not be verified"
    return line


def shorten(text: str, limit: int) -> str:
    """``text`` on one line (whitespace runs collapsed), at most ``limit`` characters: its start and its end
    (where a completion's answer is) around an ellipsis."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    head = max(1, (limit - 3) * 2 // 5)
    return f"{flat[:head]} … {flat[-(limit - 3 - head):]}"


def _examples(title: str, examples: list[Example]) -> None:
    """Each example: its scores; the gold's answer and the answer found in the completion on one line;
    then the gold text (when it is more than its answer) and the completion, indented and shortened."""
    from rich.padding import Padding
    from rich.text import Text

    from r1cli.rewards.answer_text import gold_answer_text, locate_answer

    if not examples:
        return
    console.print(f"\n[bold]{title} {len(examples)}[/]")
    budget = 2 * max(20, console.width - 4)  # about two indented lines
    for e in examples:
        scores = ", ".join(f"{escape(k)}={_num(v, 2)}" for k, v in e.rewards.items())
        console.print(f"[cyan]line {e.line}[/]  total {_num(e.total)}  [dim]{scores}[/]", soft_wrap=True)
        gold = gold_answer_text(e.solution) if e.solution is not None else None
        found = locate_answer(e.completion) if isinstance(e.completion, str) else None
        answers = [] if e.solution is None else [f"gold answer {escape(shorten(gold, 30)) if gold else '—'}"]
        answers.append(f"extracted {escape(shorten(found, 30))}" if found is not None else "extracted [dim]— (none found)[/]")
        console.print("  " + " · ".join(answers), soft_wrap=True)
        if e.solution is not None and str(e.solution).strip() != gold:
            console.print(Padding(Text.assemble(("gold: ", "dim"), shorten(e.solution, budget)), (0, 0, 0, 4), expand=False))
        console.print(Padding(Text(shorten(e.completion, budget)), (0, 0, 0, 4), expand=False))


def print_json(report: ScoreReport) -> None:
    # Plain stdout, not Rich: machine-readable output must not be wrapped or styled.
    data = report.to_dict()
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@contextlib.contextmanager
def progress(enabled: bool = True) -> Iterator[Callable[[int, int, int], None]]:
    """A progress bar on stderr (bytes read, rows, rows/s); a no-op callback when stderr is not a terminal."""
    if not enabled or not err_console.is_terminal:
        yield lambda rows, done, total: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("scoring"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[rows]:,} rows · {task.fields[rate]:,.0f} rows/s"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("score", total=None, rows=0, rate=0.0)
        started = bar.get_time()

        def update(rows: int, done: int, total: int) -> None:
            elapsed = max(bar.get_time() - started, 1e-9)
            bar.update(task, completed=done, total=total, rows=rows, rate=rows / elapsed)

        yield update
