"""Drawing a DryRunReport: prompt, lengths, model and memory, steps, gold check, samples, findings."""

from __future__ import annotations

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from r1cli.ui.console import console, human_bytes


def _table(title: str, rows: list[tuple[str, str]]):
    from rich.console import Group
    from rich.text import Text

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    return Group(Text(title, style="bold underline"), table)


def render_dry_run(report) -> None:
    console.print(f"[bold]dry run[/] of {escape(report.recipe)} ({report.trainer}) -> {escape(report.output_dir)}")
    if report.prompts:
        console.print(Panel(escape(report.prompts[0]), title="first prompt, as the model sees it", expand=False))
    t = report.prompt_tokens
    budget = ", ".join(f"{k} {v}" for k, v in report.budget.items())
    console.print(_table("Data", [("training rows", str(report.rows)),
                                  ("prompt tokens", f"min {t['min']}  mean {t['mean']}  p95 {t['p95']}  max {t['max']} (of {t['count']})"),
                                  ("budget", budget)]))
    m = report.model
    memory = [(name.replace("_", " "), human_bytes(value)) for name, value in report.memory.items()]
    console.print(_table("Model and memory (floor: activations not included)",
                         [("parameters", f"{m['parameters']:,} ({m['trainable']:,} trainable, {m['dtype']})")] + memory))
    s = report.steps
    console.print(_table("Steps", [("per optimizer step", f"{s['samples_per_step']} {'prompts' if report.trainer == 'grpo' else 'examples'}"),
                                   ("steps per epoch", str(s["steps_per_epoch"])), ("total steps", str(s["total_steps"])),
                                   ("epochs", str(s["epochs"])), ("processes", str(s["processes"]))]))
    if report.gold is not None:
        g = report.gold
        rows = [("gold answers scored", str(g["rows"])), ("verified (1.0)", str(g["verified"])),
                ("not equal (0.0)", str(g["not_equal"])), ("unparseable (None)", str(g["unparseable"]))]
        rows += [("e.g.", escape(example[:80])) for example in g["examples"]]
        name = str(g.get("reward") or "accuracy")
        console.print(_table(f"{name[:1].upper()}{name[1:]} reward on the dataset's own golds", rows))
    for sample in report.samples:
        scores = "  ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in sample["rewards"].items())
        console.print(Panel(escape(sample["completion"][:600]), title=escape(sample["prompt"][:70]),
                            subtitle=f"{scores}  total {sample['total']:.2f}", expand=False))
    for text in getattr(report, "notes", []):
        console.print(f"note: {escape(text)}", soft_wrap=True)
    for text in report.warnings:
        console.print(f"[yellow]warning[/]: {escape(text)}", soft_wrap=True)
    for text in report.errors:
        console.print(f"[red]error[/]: {escape(text)}", soft_wrap=True)
    verdict = "[green]✓ ready to train[/]" if report.ok else f"[red]✗ {len(report.errors)} problem(s) would stop this run[/]"
    console.print(verdict)
