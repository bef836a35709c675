"""`r1 report RUN_DIR`: plots of a run's metrics.jsonl as a PNG and a self-contained HTML page.

    paths = write_report(Path("runs/quickstart/grpo"))   # report.png, report.html inside the run

Panels (each drawn only when the run logged its metrics): every reward's mean,
the weighted total with its spread, accuracy (train reward and real-time eval),
completion length and the clipped share, reject-sampling statistics (zero-spread
share before and after, groups recovered), loss / KL, and seconds per step by phase.
Shares and accuracy are drawn on a fixed 0-1 axis, steps as whole numbers; the title says what was trained
(from the run's config.yaml, :func:`r1cli.config.describe.describe`). The training doctor's
findings are marked on every panel: a dashed line at the step each one started, labelled with
the rule, orange for a warning and red for a critical one, and listed under the panels with what
to try (which findings, at which steps: :func:`r1cli.doctor.annotations.plot_marks`).

The HTML page is what one sends a colleague: what was trained (model, data,
rewards with weights, key settings), how it went (steps, wall time, last and best
values, the real-time eval), then the plot, embedded as base64 so the page is one
file. Both files carry r1's marker, so `r1 report` regenerates its own report
without ``--force`` but never replaces a file it did not write. matplotlib is
imported only here, with the Agg backend (no display).
"""

from __future__ import annotations

import base64
import html
import io
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

from r1cli.config.describe import RecipeFacts, describe, number
from r1cli.doctor.annotations import PlotMark, plot_marks
from r1cli.doctor.annotations import report_lines as doctor_lines
from r1cli.doctor.rules import CRITICAL, WARNING
from r1cli.errors import DataError
from r1cli.files import atomic_open, read_jsonl, refuse_overwrite
from r1cli.run_dir import RunDirectory

MARKER = "r1 report"  # in the PNG's Software field and the page's generator meta: r1 wrote this file
# Panels whose values are shares or accuracies: drawn on 0-1 whatever the data (all zero is a flat line at 0).
UNIT_PANELS = {"Accuracy", "Clipped completions (share)", "Reject sampling: zero-spread groups"}
Y_LABELS = {"Reward per function (train mean)": "mean reward", "Total reward (weighted)": "reward",
            "Accuracy": "share correct", "Completion length (tokens)": "tokens", "Clipped completions (share)": "share",
            "Reject sampling: zero-spread groups": "share of groups", "Reject sampling: groups": "groups",
            "Loss and KL": "value", "Time per step by phase (s)": "seconds"}
# The metrics whose last and best values the page lists (when logged), with which direction is better.
HEADLINE = (("reward", "max"), ("rewards/accuracy/mean", "max"), ("eval/accuracy", "max"),
            ("completions/mean_length", None), ("completions/clipped_ratio", "min"), ("loss", None), ("kl", None),
            ("entropy", None))
SEVERITY_COLOURS = {WARNING: "#b36200", CRITICAL: "#b2182b"}  # the doctor's markers and their lines in the note
NOTE_LINES = 8  # findings listed under the panels at most (report.html lists them all)
NOTE_WIDTH = 190  # characters a note line is cut to (the figure's width at its font size)


@dataclass
class Series:
    label: str
    steps: list[int]
    values: list[float]


def series(records: list[dict], key: str, label: str | None = None) -> Series | None:
    points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float)) and "step" in r]
    if not points:
        return None
    steps, values = zip(*points)
    return Series(label or key, list(steps), list(values))


def phase_series(records: list[dict]) -> list[Series | None]:
    """The step's wall time and each ``time/<phase>`` that was ever non-zero (seconds per step; training/phases.py)."""
    keys = sorted({k for r in records for k, v in r.items() if k.startswith("time/") and k != "time/step" and v})
    return [series(records, "time/step", "step (wall)")] + [series(records, k, k[len("time/"):]) for k in keys]


def panels(records: list[dict]) -> list[tuple[str, list[Series]]]:
    """(title, lines) for each panel this run has data for, in display order."""
    rewards = sorted({k.split("/")[1] for r in records for k in r if k.startswith("rewards/") and k.endswith("/mean")})
    candidates = [
        ("Reward per function (train mean)", [series(records, f"rewards/{n}/mean", n) for n in rewards]),
        ("Total reward (weighted)", [series(records, "reward", "mean (generated)" if any("trained/reward" in r for r in records)
                                            else "mean"), series(records, "reward_std", "std"),
                                     series(records, "trained/reward", "mean (trained on, after reject sampling)")]),
        ("Accuracy", [series(records, "rewards/accuracy/mean", "train (sampled)"),
                      series(records, "eval/accuracy", "held-out eval (real-time)")]),
        ("Completion length (tokens)", [series(records, "completions/mean_length", "mean"),
                                        series(records, "completions/max_length", "max")]),
        ("Clipped completions (share)", [series(records, "completions/clipped_ratio", "clipped")]),
        ("Reject sampling: zero-spread groups", [series(records, "reject_sampling/zero_spread_frac_before", "before"),
                                                 series(records, "reject_sampling/zero_spread_frac_after", "after")]),
        ("Reject sampling: groups", [series(records, "reject_sampling/rejected_initial", "rejected at first"),
                                     series(records, "reject_sampling/recovered", "recovered"),
                                     series(records, "reject_sampling/still_rejected", "still rejected")]),
        ("Loss and KL", [series(records, "loss", "loss"), series(records, "kl", "KL")]),
        ("Time per step by phase (s)", phase_series(records)),  # issue 18
    ]
    return [(title, [s for s in lines if s]) for title, lines in candidates if any(lines)]


def read_config(run: RunDirectory) -> dict:
    """The run's saved recipe (config.yaml), or {} when it is missing or unreadable."""
    import yaml

    try:
        values = yaml.safe_load(run.config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return values if isinstance(values, dict) else {}


def kl_note(records: list[dict], config: dict) -> str | None:
    """Why there is no KL line: ``beta: 0`` means TRL does not compute it (no reference model)."""
    if any("kl" in r for r in records) or config.get("trainer", "grpo") != "grpo":
        return None
    return "KL not computed: beta is 0 (no reference model)" if config.get("beta", 0.0) == 0 else None


def render_png(run_name: str, records: list[dict], facts: RecipeFacts | None = None, note: str | None = None) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    found = panels(records)
    if not found:
        raise DataError(f"{RunDirectory.METRICS} has no plottable metrics", hint="is this a finished r1 run directory?")
    marks = plot_marks(records)
    notes = doctor_note(marks)
    note_height = 0.17 * len(notes) + (0.1 if notes else 0)  # inches under the panels
    cols = 2
    rows = (len(found) + cols - 1) // cols
    height = 3.2 * rows + 0.6 + note_height
    fig, axes = plt.subplots(rows, cols, figsize=(12, height), squeeze=False)
    for ax, (title, lines) in zip(axes.flat, found):
        for line in lines:
            ax.plot(line.steps, line.values, marker="o" if len(line.steps) < 30 else None, markersize=3, label=line.label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel(Y_LABELS.get(title, ""), fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if title in UNIT_PANELS:
            ax.set_ylim(-0.02, 1.02)
        if title == "Loss and KL" and note:
            ax.text(0.02, 0.04, note, transform=ax.transAxes, fontsize=7, color="#666")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(found):]:
        ax.axis("off")
    heading = f"{run_name}: {facts.title}" if facts else f"r1 run: {run_name}"
    if facts and facts.rewards:
        heading += "\nrewards: " + ", ".join(f"{n} x{number(w)}" for n, w in facts.rewards)
    fig.suptitle(heading, fontsize=11)
    for i, (colour, line) in enumerate(notes):
        fig.text(0.01, (note_height - 0.01 - 0.17 * (i + 1)) / height, line, fontsize=7.5,
                 color=colour, ha="left", va="bottom")
    fig.tight_layout(rect=(0, note_height / height, 1, 1))
    draw_marks(list(axes.flat)[:len(found)], marks)  # after the layout: labels are placed in its pixels
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": MARKER})
    plt.close(fig)
    return buffer.getvalue()


def colour_of(severity: str) -> str:
    return SEVERITY_COLOURS.get(severity, SEVERITY_COLOURS[WARNING])


def doctor_note(marks: list[PlotMark]) -> list[tuple[str, str]]:
    """(colour, text) of the lines under the panels that say what the markers mean; [] without findings."""
    if not marks:
        return []
    found = [(colour_of(severity), textwrap.shorten(line, NOTE_WIDTH, placeholder=" ..."))
             for mark in marks for severity, line in mark.lines]
    if len(found) > NOTE_LINES:
        found = found[:NOTE_LINES - 1] + [("#666", f"... and {len(found) - NOTE_LINES + 1} more: report.html lists "
                                                   "every finding")]
    return [("#333", "Training doctor (dashed lines at the step each finding started; orange: warning, red: "
                     "critical):")] + found


def draw_marks(axes: list, marks: list[PlotMark]) -> None:
    """A dashed line at each mark's step on every panel, labelled with its rules at the top of the panel; labels
    that would overlap go down a row (placed in the laid-out figure's pixels)."""
    if not marks:
        return
    renderer = axes[0].figure.canvas.get_renderer()
    points = 72 / axes[0].figure.dpi  # pixels -> points
    for ax in axes:
        for mark in marks:
            ax.axvline(mark.step, color=colour_of(mark.severity), linestyle="--", linewidth=1.1, alpha=0.9, zorder=1.5)
        ax.get_xlim()  # autoscale now, so data -> pixels is final
        frame = ax.get_window_extent(renderer)
        rows: list[list[tuple[float, float]]] = []  # per row of labels: the pixel spans taken
        for mark in marks:
            label = ax.annotate(mark.label, xy=(mark.step, 1), xycoords=("data", "axes fraction"), xytext=(2, -2),
                                textcoords="offset points", ha="left", va="top", fontsize=7, zorder=5,
                                color=colour_of(mark.severity),
                                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
            box = label.get_window_extent(renderer)
            if box.x1 > frame.x1:  # past the panel's right edge: to the left of the line
                label.set_horizontalalignment("right")
                label.xyann = (-2, -2)
                box = label.get_window_extent(renderer)
            step, gap = box.height + 1, box.height * 0.6  # pixels between rows, and between labels in a row
            fits = max(1, int(frame.height * 0.6 // step))  # rows in the panel's upper part; then start over
            row = next(i for i in range(len(rows) + 1)
                       if i == len(rows) or all(box.x1 + gap < a or box.x0 > b + gap for a, b in rows[i]))
            if row >= fits:
                row = min(range(fits), key=lambda i: len(rows[i]))
            if row == len(rows):
                rows.append([])
            rows[row].append((box.x0, box.x1))
            label.xyann = (label.xyann[0], -2 - row * step * points)


def headline(records: list[dict]) -> list[tuple[str, str, str]]:
    """(metric, last, best) for the headline metrics the run logged; best is blank when neither direction is better."""
    out = []
    for key, better in HEADLINE:
        points = [r[key] for r in records if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
        if points:
            best = "" if better is None else number(max(points) if better == "max" else min(points))
            out.append((key, number(points[-1]), best))
    return out


def _duration(seconds: float | None) -> str:
    if not isinstance(seconds, (int, float)):
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def steps_sentence(summary: dict, records: list[dict]) -> str:
    """How many steps in how long. After ``--resume`` summary.json describes only the resumed part (its
    ``resumed_from_step``, issue 16): say so, and give the whole run's time from metrics.jsonl's per-step times."""
    done, planned, wall = summary.get("global_step"), summary.get("max_steps"), summary.get("wall_seconds")
    resumed = summary.get("resumed_from_step")
    if not isinstance(resumed, int) or isinstance(resumed, bool) or resumed <= 0 or not isinstance(done, int):
        return f"{done} of {planned} steps in {_duration(wall)}"
    since = done - resumed
    part = f"the last {since} in {_duration(wall)}" if since > 0 else "no step run since"
    sentence = f"{done} of {planned} steps (resumed at step {resumed}: {part}"
    per_step = {r["step"]: r["time/step"] for r in records if isinstance(r.get("step"), int) and 0 < r["step"] <= done
                and isinstance(r.get("time/step"), (int, float)) and not isinstance(r.get("time/step"), bool)}
    if per_step:  # the mean over the logged steps, times the steps run: an estimate unless every step was logged
        total = sum(per_step.values()) / len(per_step) * done
        about = "" if len(per_step) == done else "about "
        sentence += f"; {about}{_duration(total)} of training steps in all, from metrics.jsonl's per-step times"
    return sentence + ")"


def render_html(run_name: str, png: bytes, summary: dict | None, records: list[dict], config: dict | None = None,
                note: str | None = None) -> str:
    esc = html.escape
    facts = describe(config) if config else None
    parts = []
    if facts:
        trained = [("trainer", facts.trainer.upper()), ("model", facts.model), ("data", facts.data)]
        if facts.eval_data:
            trained.append(("held-out eval", facts.eval_data))
        if facts.rewards:
            trained.append(("rewards", ", ".join(f"{n} (weight {number(w)})" for n, w in facts.rewards)))
        trained += [(k, number(v)) for k, v in facts.settings]
        parts.append("<h2>What was trained</h2><table>" + "".join(
            f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in trained) + "</table>")
    went = []
    if summary is not None:
        steps = steps_sentence(summary, records)
        if summary.get("interrupted_by"):
            steps += f" (stopped by {summary['interrupted_by']})"
        elif summary.get("stopped_by_time_budget"):
            steps += " (stopped by max_train_minutes)"
        went.append(f"<p>{esc(steps)}</p>")
    rows = headline(records)
    if rows:
        went.append("<table><tr><th>metric</th><th>last</th><th>best</th></tr>" + "".join(
            f"<tr><td>{esc(k)}</td><td>{esc(last)}</td><td>{esc(best)}</td></tr>" for k, last, best in rows) + "</table>")
    evals = [(r["step"], r["eval/accuracy"]) for r in records if isinstance(r.get("eval/accuracy"), (int, float)) and "step" in r]
    if evals:
        went.append("<p>Real-time eval accuracy by step: " + esc(", ".join(f"{s}: {number(v)}" for s, v in evals)) + "</p>")
    if note:
        went.append(f"<p class=note>{esc(note)}</p>")
    went += [f"<p class=doctor>{esc(line)}</p>" for line in doctor_lines(records)]  # issue 17: the doctor's findings
    parts.append("<h2>How it went</h2>" + "".join(went))
    title = f"{run_name}: {facts.title}" if facts else f"r1 run: {run_name}"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta name="generator" content="{MARKER}"><title>{esc(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border-bottom:1px solid #ddd;padding:2px 10px;text-align:left}}
.note{{color:#666}}</style></head>
<body><h1>{esc(title)}</h1>
{"".join(parts)}
<h2>Metrics over steps</h2>
<img alt="training metrics" style="max-width:100%" src="data:image/png;base64,{base64.b64encode(png).decode()}">
</body></html>
"""


def written_by_r1(path: Path) -> bool:
    """Does this existing report file carry r1's marker (PNG Software field, HTML generator meta)?"""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return MARKER.encode() in head


def write_report(run_dir: Path | RunDirectory, *, force: bool = False) -> tuple[Path, Path]:
    """Write the report's PNG and HTML page into ``run_dir``; return their paths."""
    run = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(run_dir)
    if not run.metrics.is_file():
        raise DataError(f"{run.path} has no {run.METRICS}", hint="pass the run directory of an r1 sft/grpo run")
    records = read_jsonl(run.metrics)
    png_path, html_path = run.report_png, run.report_html
    for path in (png_path, html_path):  # r1's own report is derived from the run: regenerated freely
        refuse_overwrite(path, force or written_by_r1(path))
    summary = json.loads(run.summary.read_text(encoding="utf-8")) if run.summary.is_file() else None
    config = read_config(run)
    note = kl_note(records, config)
    png = render_png(run.name, records, describe(config) if config else None, note)
    with atomic_open(png_path, "wb", force=True) as handle:
        handle.write(png)
    with atomic_open(html_path, "w", force=True) as handle:
        handle.write(render_html(run.name, png, summary, records, config, note))
    return png_path, html_path
