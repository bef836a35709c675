"""The doctor: every rule over one run's metric stream, live (record by record) or after the fact.

    doctor = Doctor()
    for record in records:                        # {"step": s, **metrics}, in logged order
        for finding in doctor.observe(record["step"], record):
            print(finding.line())

    findings = diagnose(records)                  # the same, all at once

Records that are events (``{"event": "doctor", ...}`` lines r1 appends to
metrics.jsonl) are skipped, so a run's own findings never feed the rules.

Given the run's own settings (``Doctor(settings=recipe values)``), a finding never
says to try what the run already has: a setting it recommends at the value the run
uses (``keep_best: true`` in a run with keep_best on) is left out of its ``settings``.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from r1cli.doctor.rules import Finding, Rule, default_rules

EVENT = "doctor"  # the "event" of a finding's record in metrics.jsonl


class Doctor:
    """Feeds each logged record to every rule; keeps the findings in order."""

    def __init__(self, rules: list[Rule] | None = None, *, accuracy_reward: str = "accuracy",
                 settings: Mapping[str, Any] | None = None) -> None:
        self.rules = rules if rules is not None else default_rules(accuracy_reward)
        self.settings = dict(settings or {})  # the run's own recipe values, where known
        self.findings: list[Finding] = []
        self.learning_rate = None  # the last logged one

    def observe(self, step: int, metrics: dict) -> list[Finding]:
        if "event" in metrics:
            return []
        metrics = {k: v for k, v in metrics.items() if k not in ("step", "epoch")}
        if "learning_rate" in metrics:
            self.learning_rate = metrics["learning_rate"]
        elif self.learning_rate is not None:  # an eval record: the rate its recommendations start from
            metrics["learning_rate"] = self.learning_rate
        found = [self._untried(f) for rule in self.rules if (f := rule.observe(int(step), metrics)) is not None]
        self.findings.extend(found)
        return found

    def _untried(self, finding: Finding) -> Finding:
        """The finding without the settings the run already has (see the module doc)."""
        tried = {key: value for key, value in finding.settings.items()
                 if key in self.settings and _same(self.settings[key], value)}
        if tried:
            finding.settings = {k: v for k, v in finding.settings.items() if k not in tried}
        return finding

    def replay(self, records: Iterable[dict]) -> None:
        """Bring the rules' state up to date with earlier records (a resumed run); their findings are kept, not returned."""
        for record in records:
            step = step_of(record)
            if step is not None:
                self.observe(step, record)


def step_of(record: dict) -> int | None:
    """A record's ``step`` as an int (0 when it has none); None when it is not a finite number (a hand-edited
    or foreign file's ``"x"``, ``null``, ``NaN``): such a record is no step's."""
    step = record.get("step", 0)
    if isinstance(step, bool):
        return None
    try:
        value = float(step)
    except (TypeError, ValueError, OverflowError):
        return None
    return int(value) if math.isfinite(value) else None


def _same(current: Any, recommended: Any) -> bool:
    if isinstance(current, bool) or isinstance(recommended, bool):
        return current is recommended
    if isinstance(current, (int, float)) and isinstance(recommended, (int, float)):
        return abs(current - recommended) <= 1e-12 * max(abs(current), abs(recommended), 1.0)
    return current == recommended


def diagnose(records: Iterable[dict], *, accuracy_reward: str = "accuracy",
             settings: Mapping[str, Any] | None = None) -> list[Finding]:
    """Every finding of a whole metric stream, in the order the rules fired (``settings``: the run's recipe values)."""
    doctor = Doctor(accuracy_reward=accuracy_reward, settings=settings)
    doctor.replay(records)
    return doctor.findings


def finding_record(finding: Finding) -> dict:
    """The metrics.jsonl line of a finding: ``step`` is the step it was seen at (so ``--resume`` cuts it with the
    metrics of that step), ``started`` the step its condition began, ``"event": "doctor"``."""
    return {**finding.to_dict(), "step": finding.seen_at, "started": finding.step, "event": EVENT}


def finding_of(record: dict) -> Finding | None:
    """The Finding of a metrics.jsonl line written by :func:`finding_record`; None for a line that lacks its
    fields or has no numeric step (cut short or edited by hand): it is skipped, not a traceback."""
    step = step_of({"step": record.get("started", record.get("step", 0))})
    if step is None:
        return None
    try:
        finding = Finding.from_dict({**record, "step": step})
    except TypeError:  # a required field missing
        return None
    if not isinstance(finding.settings, dict):
        finding.settings = {}
    return finding


def logged_findings(records: Iterable[dict]) -> list[Finding]:
    """The findings a live run wrote into its metrics.jsonl (``"event": "doctor"`` lines), malformed ones left out."""
    return [f for r in records if isinstance(r, dict) and r.get("event") == EVENT and (f := finding_of(r)) is not None]
