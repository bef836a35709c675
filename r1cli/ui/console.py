"""The two consoles every command prints through, and the one-line error format."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_error(exc: Exception) -> None:
    """``error: <message>`` then ``hint: <fix>``, on stderr."""
    label = getattr(exc, "label", "error")  # e.g. "stopped" for a clean stop on Ctrl-C
    err_console.print(f"[bold red]{label}:[/] {escape(getattr(exc, 'message', str(exc)))}", soft_wrap=True)
    hint = getattr(exc, "hint", None)
    if hint:
        err_console.print(f"[yellow]hint:[/] {escape(hint)}", soft_wrap=True)
