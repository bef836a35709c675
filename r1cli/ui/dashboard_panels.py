"""Drawing the training dashboard: pure functions from a ``DashboardState`` to Rich renderables.

``render_dashboard(state, width, height)`` builds one frame that fits in
``width`` x ``height`` cells; the number formats and the sparkline here are
shared with the plain log and the summary table. Nothing here keeps state or
reads a clock: the reporters in ``r1cli.ui.dashboard`` own the state and call
``render_dashboard`` on every refresh with the console's current size, so a
resized terminal gets a new layout on the next frame.

Every section body is a list of one-line ``Text`` objects already cut to the
width, so each section's height is known before anything is drawn and the
layout picks, without trial rendering, the first of:

1. wide (>= 120 columns, GRPO): rewards across the top, training | eval and
   reject sampling side by side, the latest sample across the bottom, boxed,
   else as compact sections;
2. one column of boxed panels;
3. one column of compact sections (a titled rule instead of a box);
4. compact, dropping the sample, then eval, reject sampling and training
   until it fits.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rich import box
from rich.console import Group, RenderableType
from rich.constrain import Constrain
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from r1cli.ui.phase_line import step_phases_line

if TYPE_CHECKING:
    from r1cli.ui.dashboard_state import DashboardState

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
WIDE_WIDTH = 120
SAMPLE_MIN_LINES = 2  # the prompt and one completion line; less is not worth a section
SAMPLE_MAX_LINES = 16
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- numbers -----------------------------------------------------------------


def fmt_num(value: float | None, decimals: int = 3) -> str:
    """Fixed decimals; scientific notation where those would show only zeros (a tiny KL) or too many digits."""
    if value is None or not math.isfinite(value):
        return "—"
    if (decimals and value != 0 and abs(value) < 0.5 * 10**-decimals) or abs(value) >= 1e6:
        return f"{value:.1e}"
    return f"{value:.{decimals}f}"


def fmt_lr(value: float) -> str:
    return f"{value:.1e}"


def fmt_pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def fmt_si(value: float | None) -> str:
    """850, 1.2k, 3.4M: token counts and rates."""
    if value is None or not math.isfinite(value):
        return "—"
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.1f}{suffix}"
    return f"{value:.0f}"


def fmt_duration(seconds: float | None) -> str:
    """m:ss, or h:mm:ss from an hour on; an em dash while unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    minutes, secs = divmod(max(int(round(seconds)), 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def trend_line(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as unicode blocks, scaled between their own min and max."""
    recent = list(values)[-width:] if width > 0 else []
    if not recent:
        return ""
    low, high = min(recent), max(recent)
    if high - low < 1e-12:
        return SPARK_BLOCKS[3] * len(recent)  # flat: a mid-height line, not an alarming floor or ceiling
    scale = (len(SPARK_BLOCKS) - 1) / (high - low)
    return "".join(SPARK_BLOCKS[round((v - low) * scale)] for v in recent)


# --- lines -------------------------------------------------------------------


@dataclass
class Section:
    title: Text
    lines: list[Text]

    def height(self, boxed: bool) -> int:
        return len(self.lines) + _chrome(boxed)


def _chrome(boxed: bool) -> int:
    return 2 if boxed else 1  # a box costs its top and bottom border, a compact section one rule


def _inner(width: int, boxed: bool) -> int:
    return width - 4 if boxed else width  # border and one space of padding on each side


def _fit(text: Text, width: int) -> Text:
    """One line cut to ``width`` cells with an ellipsis: a frame line never wraps."""
    text.truncate(max(width, 1), overflow="ellipsis")
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _cell(label: str, value: str) -> Text:
    return Text.assemble((f"{label} ", "dim"), (value, "bold"))


def _title(name: str, step: int | None = None) -> Text:
    title = Text(name, style="bold")
    if step is not None:
        title.append(f" · step {step}", style="dim")
    return title


def _columns_that_fit(lens: list[int], width: int, gap: int) -> int:
    for cols in range(len(lens), 1, -1):
        if sum(max(lens[j::cols]) for j in range(cols)) + gap * (cols - 1) <= width:
            return cols
    return 1


def grid_lines(cells: list[Text], width: int, gap: int = 3) -> list[Text]:
    """``label value`` cells, row-major, in as many aligned columns as fit in ``width``."""
    if not cells:
        return []
    lens = [cell.cell_len for cell in cells]
    cols = _columns_that_fit(lens, width, gap)
    widths = [max(lens[j::cols]) for j in range(cols)]
    lines = []
    for start in range(0, len(cells), cols):
        line = Text()
        for j, cell in enumerate(cells[start : start + cols]):
            line.append(" " * gap if j else "")
            line.append_text(cell)
            line.append(" " * (widths[j] - cell.cell_len))
        line.rstrip()
        lines.append(_fit(line, width))
    return lines


def trend_lines(rows: list[tuple[str, str, Sequence[float]]], width: int) -> list[Text]:
    """``label  value  sparkline`` rows; the sparkline takes the width that is left."""
    if not rows:
        return []
    label_w = max(len(label) for label, _, _ in rows)
    value_w = max(len(value) for _, value, _ in rows)
    spark_w = width - label_w - value_w - 4
    lines = []
    for label, value, history in rows:
        line = Text.assemble((label.ljust(label_w), "dim"), "  ", (value.rjust(value_w), "bold"))
        if spark_w >= 4:
            line.append("  ")
            line.append(trend_line(history, spark_w), style="cyan")
        lines.append(_fit(line, width))
    return lines


# --- sections ----------------------------------------------------------------


def _rewards_section(state: DashboardState, width: int) -> Section:
    names = state.reward_names()
    name_w = min(max([len(n) for n in names] + [6]), 20)
    spark_w = width - name_w - 30  # name, weight 6, mean 7, std 7 and four 2-space gaps
    head = f"{'reward':<{name_w}}  {'weight':>6}  {'mean':>7}  {'std':>7}" + ("  trend" if spark_w >= 5 else "")
    lines = [_fit(Text(head, style="dim"), width)]
    rows = [(n, state.reward_weight(n), f"rewards/{n}/mean", f"rewards/{n}/std", "") for n in names]
    rows.append(("total", None, "reward", "reward_std", "bold"))
    if "trained/reward" in state.latest:  # issue 13: reject sampling on: the rows above are what was generated
        rows.append(("trained on", None, "trained/reward", None, "bold"))
    for name, weight, mean_key, std_key, style in rows:
        label = Text(name, style=style or "")
        label.truncate(name_w, overflow="ellipsis", pad=True)
        cols = f"  {fmt_num(weight, 2) if weight is not None else '':>6}  {fmt_num(state.latest.get(mean_key)):>7}"
        line = Text.assemble(label, (cols, "bold"), f"  {fmt_num(state.latest.get(std_key)):>7}")
        if spark_w >= 5:
            line.append("  ")
            line.append(trend_line(state.history.get(mean_key, ()), spark_w), style="cyan")
        lines.append(_fit(line, width))
    return Section(_title("rewards", state.seen_at.get("reward")), lines)


def _cells(state: DashboardState, specs: Sequence[tuple[str, str, Callable[[float], str]]]) -> list[Text]:
    return [_cell(label, fmt(state.latest[key])) for label, key, fmt in specs if key in state.latest]


def _trends(state: DashboardState, specs: Sequence[tuple[str, str, Callable[[float], str]]]):
    return [(label, fmt(state.latest[key]), state.history.get(key, ())) for label, key, fmt in specs if key in state.latest]


def _n(decimals: int) -> Callable[[float], str]:
    return lambda v: fmt_num(v, decimals)


_GRPO_TRENDS = [("loss", "loss", _n(4)), ("kl", "kl", _n(4)), ("entropy", "entropy", _n(3)),
                ("grad norm", "grad_norm", _n(3)), ("len", "completions/mean_length", _n(0))]
_GRPO_CELLS = [("lr", "learning_rate", fmt_lr), ("clip low", "clip_ratio/low_mean", _n(3)),
               ("clip high", "clip_ratio/high_mean", _n(3)), ("clip region", "clip_ratio/region_mean", _n(3)),
               ("max len", "completions/max_length", _n(0)), ("clipped", "completions/clipped_ratio", fmt_pct),
               ("zero std", "frac_reward_zero_std", fmt_pct), ("trained zero std", "trained/frac_reward_zero_std", fmt_pct)]
_SFT_TRENDS = [("loss", "loss", _n(4)), ("token acc", "mean_token_accuracy", _n(3)), ("grad norm", "grad_norm", _n(3))]
_SFT_CELLS = [("lr", "learning_rate", fmt_lr), ("epoch", "epoch", _n(2)), ("tokens", "num_tokens", fmt_si)]


def _training_section(state: DashboardState, width: int, trends: bool) -> Section:
    if state.trainer == "sft":
        lines = trend_lines(_trends(state, _SFT_TRENDS), width) + grid_lines(_cells(state, _SFT_CELLS), width)
    elif trends:
        lines = trend_lines(_trends(state, _GRPO_TRENDS), width) + grid_lines(_cells(state, _GRPO_CELLS), width)
    else:  # narrow: no room for a sparkline per statistic, so every value is one grid cell
        lines = grid_lines(_cells(state, _GRPO_TRENDS[:4] + _GRPO_CELLS[:4] + _GRPO_TRENDS[4:] + _GRPO_CELLS[4:]), width)
    lines += step_phases_line(state.latest, width) if lines else []  # issue 18: where the step's time goes
    return Section(_title("training", state.seen_at.get("loss")), lines or [_waiting(state)])


def _waiting(state: DashboardState) -> Text:
    """Before the first logged step: what the run is busy with (start-of-run eval, step 1...) and for how long."""
    if state.phase:
        return Text(f"{state.phase}… {fmt_duration(state.phase_elapsed)} (waiting for the first logged step)", style="dim")
    return Text("waiting for the first logged step…", style="dim")


def phase_line(state: DashboardState, width: int) -> Text:
    """The whole frame before training starts: ``loading model… 0:07``."""
    text = Text(f"{state.phase or 'starting'}… {fmt_duration(state.phase_elapsed)}", style="bold")
    if state.stopping:
        text.append(f"  {state.stopping}", style="bold yellow")
    return _fit(text, width)


_REJECT_CELLS = [("groups", "groups_total"), ("rejected", "rejected_initial"), ("rescued", "rescued"),
                 ("still rejected", "still_rejected"), ("extra", "extra_completions")]


def _share(value: float | None) -> str:
    """A share of groups as a percentage; a value above 1 can only be a count of groups."""
    return "—" if value is None else fmt_pct(value) if value <= 1 else fmt_num(value, 0)


def _reject_section(state: DashboardState, width: int, totals: bool) -> Section | None:
    m = {k.removeprefix("reject_sampling/"): v for k, v in state.latest.items() if k.startswith("reject_sampling/")}
    if not m:
        return None
    cells = [_cell(label, fmt_num(m[key], 0)) for label, key in _REJECT_CELLS if key in m]
    if "time_s" in m:
        cells.append(_cell("time", f"{m['time_s']:.1f}s"))
    if "zero_spread_before" in m or "zero_spread_after" in m:
        cells.append(_cell("zero spread", f"{_share(m.get('zero_spread_before'))} → {_share(m.get('zero_spread_after'))}"))
    lines = grid_lines(cells, width)
    t = state.reject_totals
    if totals and t.get("steps", 0) > 1:
        run = f"{t['rejected_initial']:.0f} rejected, {t['rescued']:.0f} rescued, {t['extra_completions']:.0f} extra"
        lines.append(_fit(Text.assemble(("over the run ", "dim"), f"{run}, {fmt_duration(t['time_s'])}"), width))
    return Section(_title("reject sampling", state.seen_at.get("reject_sampling/groups_total")), lines)


def _eval_section(state: DashboardState, width: int) -> Section | None:
    if state.eval_step is None:
        return None
    rows = []
    if "eval/accuracy" in state.latest:
        best, best_step = state.best_eval_accuracy
        value = f"{fmt_num(state.latest['eval/accuracy'])} best {fmt_num(best)} @{best_step}"
        rows.append(("accuracy", value, state.history["eval/accuracy"]))
    rows += _trends(state, [("reward", "eval/reward", _n(3)), ("loss", "eval/loss", _n(4)),
                            ("token acc", "eval/mean_token_accuracy", _n(3))])
    specs = [(n, f"eval/rewards/{n}/mean", _n(2)) for n in state.reward_names()]
    cells = _cells(state, specs + [("len", "eval/completion_length", _n(0))])
    return Section(_title("eval", state.eval_step),
                   trend_lines(rows, width) + grid_lines(cells, width) + note_lines(state.notes, width))


# Lines of the eval panel given to training's notes (doctor findings, keep-best, eval caveats), newest first.
NOTE_LINES = 3
NOTE_WRAP = 2  # one note's lines at most: a doctor finding's recommendation is on its second


def note_lines(notes: list[str], width: int) -> list[Text]:
    """The newest notes, each wrapped to NOTE_WRAP lines, NOTE_LINES in all (every note is in training.log)."""
    lines: list[Text] = []
    for note in reversed(notes):
        room = min(NOTE_WRAP, NOTE_LINES - len(lines))
        if room <= 0:
            break
        wrapped = textwrap.wrap(note, max(width, 1)) or [""]
        if len(wrapped) > room:  # the last line kept carries the rest, cut with an ellipsis
            wrapped = wrapped[: room - 1] + [" ".join(wrapped[room - 1:])]
        lines.extend(_fit(Text(line, style="dim"), width) for line in wrapped)
    return lines


@lru_cache(maxsize=8)  # a long completion takes ~10 ms to wrap; frames come 4 times a second
def _wrap(text: str, width: int) -> tuple[str, ...]:
    lines: list[str] = []
    for para in _CONTROL.sub("", text.expandtabs(4)).splitlines():
        lines += textwrap.wrap(para, max(width, 1)) if para.strip() else []  # blank lines waste scarce rows
    return tuple(lines)


def _keep(lines: Sequence[str], n: int) -> list[Text]:
    """At most ``n`` lines: the start, a marker, and the last line (where the answer usually is)."""
    if len(lines) <= n:
        return [Text(line) for line in lines]
    if n < 3:
        return [Text(line) for line in (*lines[: n - 1], lines[-1])]
    marker = Text(f"⋯ {len(lines) - n + 1} more lines ⋯", style="dim")
    return [Text(line) for line in lines[: n - 2]] + [marker, Text(lines[-1])]


def _prompt_lines(prompt: str, width: int, n: int) -> list[Text]:
    wrapped = textwrap.wrap(" ".join(_CONTROL.sub("", prompt).split()), max(width - 7, 8)) or [""]
    shown = wrapped[:n]
    if len(wrapped) > n:
        shown[-1] += " …"  # _fit turns an overlong line's end into an ellipsis too
    return [_fit(Text.assemble(("prompt " if i == 0 else " " * 7, "dim"), line), width) for i, line in enumerate(shown)]


def _sample_section(state: DashboardState, width: int, n_lines: int) -> Section:
    sample = state.sample
    title = _title("sample", sample.step)
    for name, value in sample.rewards.items():
        title.append(f"  {name} ", style="dim")
        title.append("—" if value is None else fmt_num(value, 2), style="bold")
    head = _prompt_lines(sample.prompt, width, 1 if n_lines < 8 else 2)
    body = [_fit(line, width) for line in _keep(_wrap(sample.completion, width), n_lines - len(head))]
    return Section(title, head + body)


# --- layout ------------------------------------------------------------------


def _draw(section: Section, width: int, boxed: bool, height: int | None = None) -> RenderableType:
    if boxed:
        return Panel(Group(*section.lines), title=section.title, title_align="left", box=box.ROUNDED,
                     border_style="dim", padding=(0, 1), width=width, height=height)
    pad = [Text("")] * ((height or 0) - section.height(False))
    return Constrain(Group(Rule(section.title, align="left", style="dim"), *section.lines, *pad), width)


def _column(sections: list[Section], width: int, boxed: bool, height: int) -> RenderableType:
    """Sections stacked, the last one stretched so that the column is ``height`` lines."""
    above = sum(s.height(boxed) for s in sections[:-1])
    parts = [_draw(s, width, boxed) for s in sections[:-1]]
    return Group(*parts, _draw(sections[-1], width, boxed, height - above))


def _with_sample(state: DashboardState, parts: list, used: int, width: int, avail: int, boxed: bool) -> list | None:
    """Append the latest sample in the space left, or None when the space is too small for it."""
    if state.sample is None:
        return parts
    n_lines = min(avail - used - _chrome(boxed), SAMPLE_MAX_LINES)
    if n_lines < SAMPLE_MIN_LINES:
        return None
    return parts + [_draw(_sample_section(state, _inner(width, boxed), n_lines), width, boxed)]


def _stack(state, sections: list[Section], width: int, avail: int, boxed: bool, sample: bool) -> list | None:
    used = sum(s.height(boxed) for s in sections)
    if used > avail:
        return None
    parts = [_draw(s, width, boxed) for s in sections]
    return _with_sample(state, parts, used, width, avail, boxed) if sample else parts


def _grpo_sections(state: DashboardState, width: int) -> list[Section]:
    roomy = width >= 100  # wide enough for a sparkline per statistic and a run-total line
    found = (_rewards_section(state, width), _training_section(state, width, trends=roomy),
             _reject_section(state, width, totals=roomy), _eval_section(state, width))
    return [s for s in found if s is not None]


def _sft_sections(state: DashboardState, width: int) -> list[Section]:
    return [s for s in (_training_section(state, width, trends=True), _eval_section(state, width)) if s is not None]


def _column_layout(state, width: int, avail: int, build: Callable[[DashboardState, int], list[Section]]) -> list:
    for boxed in (True, False):
        fitted = _stack(state, build(state, _inner(width, boxed)), width, avail, boxed, sample=True)
        if fitted is not None:
            return fitted
    sections = build(state, width)
    for keep in range(len(sections), 0, -1):  # display order is also the order of importance
        fitted = _stack(state, sections[:keep], width, avail, False, sample=False)
        if fitted is not None:
            return fitted
    first = sections[0]
    return [_draw(Section(first.title, first.lines[: max(avail - 1, 0)]), width, False)]


def _wide_layout(state: DashboardState, width: int, avail: int) -> list | None:
    left_w = width // 2
    right_w = width - left_w
    for boxed in (True, False):
        gutter = 0 if boxed else 2  # boxes have their own edges; compact columns need a gap
        top = _rewards_section(state, _inner(width, boxed))
        left = [_training_section(state, _inner(left_w - gutter, boxed), trends=True)]
        right = [s for s in (_eval_section(state, _inner(right_w, boxed)),
                             _reject_section(state, _inner(right_w, boxed), totals=True)) if s is not None]
        if not right:
            return None  # nothing to put beside training: the one-column layout reads better
        mid_h = max(sum(s.height(boxed) for s in left), sum(s.height(boxed) for s in right))
        used = top.height(boxed) + mid_h
        middle = Table.grid(padding=0)
        middle.add_column(width=left_w)
        middle.add_column(width=right_w)
        middle.add_row(_column(left, left_w - gutter, boxed, mid_h), _column(right, right_w, boxed, mid_h))
        fitted = _with_sample(state, [_draw(top, width, boxed), middle], used, width, avail, boxed) if used <= avail else None
        if fitted is not None:
            return fitted
    return None


def _header(state: DashboardState, width: int) -> list[Text]:
    info = state.info
    title = Text.assemble(("r1 ", "bold magenta"), (state.trainer, "cyan"))
    if info is not None:
        title.append_text(Text.assemble("  ", (info.run_name, "bold"), "  ", (info.model, "dim")))
        if info.output_dir and width >= WIDE_WIDTH:
            title.append(f"  → {info.output_dir}", style="dim")
    if state.outcome != "running":
        title.append(f"  {state.outcome}", style="green" if state.outcome == "done" else "bold red")
    elif state.stopping:  # the first Ctrl-C, acknowledged at once in place of the run's name
        title = Text(state.stopping, style="bold yellow")
    total = state.total_steps
    step = Text(f"step {state.step}/{total}" if total else f"step {state.step}", style="bold")
    tps = state.tokens_per_s
    stats = f"elapsed {fmt_duration(state.elapsed)}  ETA {fmt_duration(state.eta)}" + (f"  {fmt_si(tps)} tok/s" if tps else "")
    pct = f"{100 * min(state.step / total, 1):3.0f}%" if total else ""
    bar_w = width - step.cell_len - len(pct) - len(stats) - 6
    line = step
    if total and bar_w >= 6:
        done = round(bar_w * min(state.step / total, 1))
        line = Text.assemble(step, "  ", ("━" * done, "magenta"), ("━" * (bar_w - done), "grey35"), f" {pct}")
    line.append_text(Text(f"  {stats}", style="dim"))
    return [_fit(title, width), _fit(line, width)]


def render_dashboard(state: DashboardState, width: int, height: int) -> RenderableType:
    """One frame of the dashboard, at most ``width`` columns and ``height`` lines."""
    header = _header(state, width)
    avail = height - len(header)
    body = None
    if state.trainer != "sft" and width >= WIDE_WIDTH:
        body = _wide_layout(state, width, avail)
    if body is None:
        body = _column_layout(state, width, avail, _sft_sections if state.trainer == "sft" else _grpo_sections)
    return Constrain(Group(*header, *body), width)
