"""Flags on a scored file: rows that look like reward hacking, unparseable golds, timeouts, constant rewards, skipped lines.

"A wrong answer" is the verifying reward's verdict (``calc.accuracy_name``); without one, no hacking pattern is judged.
"""

from __future__ import annotations

from r1cli.scoring.report import Flag, ScoreReport
from r1cli.scoring.rows import GOLD_COLUMNS

# A "high" format / rigor score, and the share of judged rows that must show the pattern before it is flagged.
HIGH_FORMAT, HIGH_RIGOR, FLAG_SHARE = 0.8, 0.7, 0.1


class Patterns:
    """Counts rows that look like reward hacking: a high format / rigor score with a wrong answer."""

    def __init__(self, names: list[str], specs: list, acc: str | None):
        by_spec = {s.name: n for n, s in zip(reversed(names), reversed(specs))}
        self.acc = acc
        self.format = by_spec.get("format")
        self.rigor = by_spec.get("mathematical_rigor")
        self.format_wrong = self.rigor_wrong = self.judged = 0

    def add(self, values: dict) -> None:
        if self.acc is None or values[self.acc] is None:
            return
        self.judged += 1
        if values[self.acc] != 0.0:
            return
        if self.format and (values[self.format] or 0.0) >= HIGH_FORMAT:
            self.format_wrong += 1
        if self.rigor and (values[self.rigor] or 0.0) >= HIGH_RIGOR:
            self.rigor_wrong += 1

    def flags(self, report: ScoreReport) -> list[Flag]:
        flags: list[Flag] = []
        rows = report.rows
        if self.acc is not None:
            s = report.rewards[self.acc]
            unparsed = s.nulls - s.timeouts
            if s.count == 0 and unparsed > 0:
                column = report.solution_column or GOLD_COLUMNS
                flags.append(Flag("gold_never_parseable", f"the gold answer could not be parsed on any row: is {column} the right column?", unparsed))
            elif unparsed > 0:
                flags.append(Flag("gold_unparseable", f"the gold answer could not be parsed on {unparsed} row(s); accuracy leaves them out", unparsed))
            for name, count, what, threshold in (
                (self.format, self.format_wrong, "format", HIGH_FORMAT),
                (self.rigor, self.rigor_wrong, "mathematical_rigor", HIGH_RIGOR),
            ):
                if name and self.judged and count / self.judged >= FLAG_SHARE:
                    flags.append(Flag(f"high_{what}_wrong_answer", f"{count} row(s) ({count / self.judged:.0%}) score {what} >= {threshold} with a wrong answer: the structure is rewarded without the mathematics", count))
        for name, s in report.rewards.items():
            if s.timeouts:
                flags.append(Flag("timeouts", f"{name}: {s.timeouts} verification(s) timed out and were left out", s.timeouts))
            if rows > 1 and s.count > 1 and s.min == s.max:
                flags.append(Flag("constant", f"{name} is {s.min:g} on every row: no learning signal for GRPO", s.count))
        if report.skipped:
            flags.append(Flag("skipped_lines", f"{report.skipped} invalid line(s) skipped (first: line {report.skipped_lines[0]})", report.skipped))
        return flags
