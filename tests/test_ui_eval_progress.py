"""`r1 eval`'s progress bar: fits 80 columns whatever the model path, and says "loading" before generation."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console
from rich.progress import Progress

from r1cli.ui import eval_view

LONG = "/home/someone/experiments/2026-11-30/very-long-run-directory-name/grpo/checkpoint-1200"


def frame(bar: Progress) -> list[str]:
    out = Console(file=io.StringIO(), width=80, color_system=None)
    out.print(bar.make_tasks_table(bar.tasks))
    return out.file.getvalue().splitlines()


def test_short_label_keeps_the_end_of_a_long_path():
    assert eval_view.short_label(LONG) == "…" + LONG[-(eval_view.LABEL_CHARS - 1):]
    assert len(eval_view.short_label(LONG)) == eval_view.LABEL_CHARS
    assert eval_view.short_label("runs/grpo/") == "runs/grpo"


def test_the_bar_says_loading_first_then_counts_within_80_columns(monkeypatch):
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    monkeypatch.setattr(eval_view, "err_console", console)
    seen = {}
    real_progress = Progress

    def spy(*columns, **kwargs):
        seen["bar"] = real_progress(*columns, **kwargs)
        return seen["bar"]

    monkeypatch.setattr("rich.progress.Progress", spy)
    with eval_view.progress(LONG) as update:
        before = frame(seen["bar"])
        update(SimpleNamespace(items_done=37, items_total=200, items_per_s=1.5, tokens_per_s=1234.0))
        after = frame(seen["bar"])
    assert "loading …" in before[0] and "0/?" not in before[0]
    assert "generating …" in after[0] and "37/200" in after[0] and "1,234 tok/s" in after[0]
    assert all(len(line) <= 80 for line in before + after)


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(eval_view, "err_console", Console(file=io.StringIO(), force_terminal=False))
    with eval_view.progress(LONG) as update:
        assert update(SimpleNamespace(items_done=1, items_total=2, items_per_s=1.0, tokens_per_s=1.0)) is None
