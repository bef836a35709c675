"""`r1 report RUN_DIR`: plots of a run's metrics.jsonl as a PNG and a self-contained HTML page.

    paths = write_report(Path("runs/quickstart/grpo"))   # report.png, report.html inside the run

Panels (each drawn only when the run logged its metrics): every reward's mean,
the weighted total with its spread, accuracy (train reward and real-time eval),
completion length and the clipped share, reject-sampling statistics (zero-spread
share before and after, groups recovered), and loss / KL. The HTML page embeds
the PNG as base64 and adds the run's summary, so it can be mailed or attached as
one file. matplotlib is imported only here, with the Agg backend (no display).
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from pathlib import Path

from r1cli.errors import DataError
from r1cli.files import atomic_open, read_jsonl, refuse_overwrite
from r1cli.run_dir import RunDirectory


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


def panels(records: list[dict]) -> list[tuple[str, list[Series]]]:
    """(title, lines) for each panel this run has data for, in display order."""
    rewards = sorted({k.split("/")[1] for r in records for k in r if k.startswith("rewards/") and k.endswith("/mean")})
    candidates = [
        ("Reward per function (train mean)", [series(records, f"rewards/{n}/mean", n) for n in rewards]),
        ("Total reward (weighted)", [series(records, "reward", "mean"), series(records, "reward_std", "std")]),
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
    ]
    return [(title, [s for s in lines if s]) for title, lines in candidates if any(lines)]


def render_png(run_name: str, records: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = panels(records)
    if not found:
        raise DataError(f"{RunDirectory.METRICS} has no plottable metrics", hint="is this a finished r1 run directory?")
    cols = 2
    rows = (len(found) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.2 * rows), squeeze=False)
    for ax, (title, lines) in zip(axes.flat, found):
        for line in lines:
            ax.plot(line.steps, line.values, marker="o" if len(line.steps) < 30 else None, markersize=3, label=line.label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(found):]:
        ax.axis("off")
    fig.suptitle(f"r1 run: {run_name}", fontsize=12)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def render_html(run_name: str, png: bytes, summary: dict | None, records: list[dict]) -> str:
    rows = ""
    last = (summary or {}).get("last") or (records[-1] if records else {})
    for key in sorted(last):
        rows += f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(str(last[key]))}</td></tr>\n"
    head = "" if summary is None else (f"<p>{summary.get('global_step')} of {summary.get('max_steps')} steps in "
                                       f"{summary.get('wall_seconds')} s</p>")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>r1 report: {html.escape(run_name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:13px}}td{{border-bottom:1px solid #ddd;padding:2px 10px}}</style></head>
<body><h1>r1 report: {html.escape(run_name)}</h1>{head}
<img alt="training metrics" style="max-width:100%" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Last logged values</h2><table>
{rows}</table></body></html>
"""


def write_report(run_dir: Path | RunDirectory, *, force: bool = False) -> tuple[Path, Path]:
    """Write the report's PNG and HTML page into ``run_dir``; return their paths."""
    run = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(run_dir)
    if not run.metrics.is_file():
        raise DataError(f"{run.path} has no {run.METRICS}", hint="pass the run directory of an r1 sft/grpo run")
    records = read_jsonl(run.metrics)
    png_path, html_path = run.report_png, run.report_html
    for path in (png_path, html_path):
        refuse_overwrite(path, force)
    summary = json.loads(run.summary.read_text(encoding="utf-8")) if run.summary.is_file() else None
    png = render_png(run.name, records)
    with atomic_open(png_path, "wb", force=force) as handle:
        handle.write(png)
    with atomic_open(html_path, "w", force=force) as handle:
        handle.write(render_html(run.name, png, summary, records))
    return png_path, html_path
