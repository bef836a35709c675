"""The two consoles every command prints through, the one-line error format, and plain formatting helpers."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def human_bytes(count: int) -> str:
    """``1536`` -> ``1.50 KiB``: byte counts as people read them (the dry-run's memory estimate)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} TiB"


def print_error(exc: Exception) -> None:
    """``error: <message>`` then ``hint: <fix>``, on stderr."""
    label = getattr(exc, "label", "error")  # e.g. "stopped" for a clean stop on Ctrl-C
    err_console.print(f"[bold red]{label}:[/] {escape(getattr(exc, 'message', str(exc)))}", soft_wrap=True)
    hint = getattr(exc, "hint", None)
    if hint:
        err_console.print(f"[yellow]hint:[/] {escape(hint)}", soft_wrap=True)
