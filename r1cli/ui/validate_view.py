"""Drawing a ValidationReport: one line per finding, then a one-line verdict."""

from __future__ import annotations

from rich.markup import escape

from r1cli.config import ValidationReport
from r1cli.ui.console import console, err_console


def render_report(report: ValidationReport) -> None:
    if report.preview is not None:
        from rich.panel import Panel

        console.print(Panel(escape(report.preview), title="first prompt, as the model sees it", expand=False))
    for finding in report.findings:
        out = err_console if finding.severity == "error" else console
        colour = "red" if finding.severity == "error" else "yellow"
        out.print(f"[{colour}]{finding.severity}[/]: {escape(finding.format())}", soft_wrap=True)
    n_err, n_warn = len(report.errors), len(report.warnings)
    plural = lambda n, word: f"{n} {word}{'s' if n != 1 else ''}"  # noqa: E731
    if report.ok:
        extra = f" ({plural(n_warn, 'warning')})" if n_warn else ""
        console.print(f"[green]✓[/] {escape(str(report.path))} is valid{extra}", soft_wrap=True)
    else:
        err_console.print(f"[red]✗[/] {escape(str(report.path))}: {plural(n_err, 'error')}, {plural(n_warn, 'warning')}", soft_wrap=True)
