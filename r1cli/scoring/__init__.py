"""Scoring JSONL files of completions with the reward registry: the library behind ``r1 score``.

One job per module:

* :mod:`~r1cli.scoring.rows`: reading lines and turning them into scored rows (the gold column, results files);
* :mod:`~r1cli.scoring.batch`: one batch of completions scored with TRL's call contract, answers parsed once;
* :mod:`~r1cli.scoring.workers`: the process pool, results in input order;
* :mod:`~r1cli.scoring.stream`: the one streaming iterator of scored rows (``r1 score``, ``r1 eval --completions``);
* :mod:`~r1cli.scoring.stats`: running statistics, histograms, correlations;
* :mod:`~r1cli.scoring.patterns`: suspicious-pattern flags;
* :mod:`~r1cli.scoring.writer`: ``--output`` (.jsonl or .csv);
* :mod:`~r1cli.scoring.summary`: :func:`score_file`, folding the stream into a :class:`ScoreReport`;
* :mod:`~r1cli.scoring.report`: the result dataclasses; :mod:`~r1cli.scoring.request`: flags and recipe resolved.

No Rich here: rendering is ``r1cli.ui.score_view``'s job.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from r1cli.scoring.report import AccuracySummary, Example, Flag, RewardSummary, ScoreReport
    from r1cli.scoring.rows import read_lines
    from r1cli.scoring.summary import score_file

# The public names and the module that owns each. Imported on first use, so a worker process
# (which imports r1cli.scoring.workers) does not load the report and summary modules it never uses.
_OWNERS = {"AccuracySummary": "report", "Example": "report", "Flag": "report", "RewardSummary": "report",
           "ScoreReport": "report", "read_lines": "rows", "score_file": "summary"}
__all__ = list(_OWNERS)


def __getattr__(name: str) -> Any:
    if name not in _OWNERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_OWNERS[name]}"), name)
    globals()[name] = value
    return value
