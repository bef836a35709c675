"""The doctor's findings as short lines for ``r1 report`` (its HTML page): one per finding, in step order.

    for line in report_lines(records):    # records: a metrics.jsonl's lines, doctor events included
        ...

A live r1 run wrote its findings into metrics.jsonl (``{"event": "doctor"}``
lines); those are the ones shown. A run without them (older runs, the doctor
off) is diagnosed now, with the same rules.
"""

from __future__ import annotations

from r1cli.doctor.diagnose import EVENT, diagnose, finding_of
from r1cli.doctor.rules import format_value


def report_lines(records: list[dict]) -> list[str]:
    logged = [finding_of(r) for r in records if r.get("event") == EVENT]
    findings = logged or diagnose([r for r in records if "event" not in r])
    return [f"doctor, step {f.step}: {f.rule}: {f.message}. What to do: {f.recommendation}"
            + (" (try " + ", ".join(f"{k}: {format_value(v)}" for k, v in f.settings.items()) + ")" if f.settings else "")
            for f in sorted(findings, key=lambda f: f.step)]
