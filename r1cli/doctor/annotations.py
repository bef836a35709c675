"""The doctor's findings for ``r1 report``: lines for its HTML page, markers for its plot.

    for line in report_lines(records):    # records: a metrics.jsonl's lines, doctor events included
        ...
    for mark in plot_marks(records):      # one vertical marker per step at which findings started
        mark.step, mark.label, mark.severity, mark.lines    # lines: (severity, Finding.line()) per finding

A live r1 run wrote its findings into metrics.jsonl (``{"event": "doctor"}``
lines); those are the ones shown. A run without them (older runs, the doctor
off) is diagnosed now, with the same rules. Both the page and the plot place a
finding at the step its condition started (``Finding.step``).
"""

from __future__ import annotations

from dataclasses import dataclass

from r1cli.doctor.diagnose import diagnose, logged_findings
from r1cli.doctor.rules import CRITICAL, WARNING, Finding, format_value


def findings(records: list[dict]) -> list[Finding]:
    """The run's findings in step order: the ones the live run logged, else the rules applied to its metrics now."""
    logged = logged_findings(records)
    found = logged or diagnose([r for r in records if "event" not in r])
    return sorted(found, key=lambda f: f.step)


def report_lines(records: list[dict]) -> list[str]:
    return [f"doctor, step {f.step}: {f.rule}: {f.message}. What to do: {f.recommendation}"
            + (" (try " + ", ".join(f"{k}: {format_value(v)}" for k, v in f.settings.items()) + ")" if f.settings else "")
            for f in findings(records)]


@dataclass(frozen=True)
class PlotMark:
    """A marker on the report's plot: the findings that started at one step."""

    step: int
    rules: tuple[str, ...]  # in the order they fired, each once
    severity: str  # the worst of them (critical over warning): the marker's colour
    lines: tuple[tuple[str, str], ...]  # (severity, Finding.line()) per finding: what happened and what to try

    @property
    def label(self) -> str:
        """The marker's short label: the rule names."""
        return ", ".join(self.rules)


def plot_marks(records: list[dict]) -> list[PlotMark]:
    """One mark per step at which findings started, in step order."""
    by_step: dict[int, list[Finding]] = {}
    for finding in findings(records):
        by_step.setdefault(int(finding.step), []).append(finding)
    return [PlotMark(step, tuple(dict.fromkeys(f.rule for f in found)),
                     CRITICAL if any(f.severity == CRITICAL for f in found) else WARNING,
                     tuple((f.severity, f.line()) for f in found))
            for step, found in sorted(by_step.items())]
