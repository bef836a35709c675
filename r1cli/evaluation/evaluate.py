"""The eval library's public names in one place (kept for existing imports); each lives in the module of its job.

* :mod:`~r1cli.evaluation.request`: :class:`EvalRequest`, flags and recipe resolved, settings checked;
* :mod:`~r1cli.evaluation.datasets`: :func:`load_eval_set`, :class:`EvalSet`;
* :mod:`~r1cli.evaluation.model_eval`: :func:`evaluate_model` (generate, score, measure);
* :mod:`~r1cli.evaluation.completions`: :func:`evaluate_completions` (a file of completions, one pass);
* :mod:`~r1cli.evaluation.results`: samples, items, :class:`EvalMetrics`, :class:`EvalReport`, :func:`summarise`;
* :mod:`~r1cli.evaluation.compare`: :func:`compare` (paired bootstrap); :mod:`~r1cli.evaluation.output`: ``--output``;
* :mod:`~r1cli.evaluation.baseline`: comparing against a saved ``--output`` file.

Every score comes from the reward registry through the command's one
:class:`~r1cli.rewards.calculator.RewardCalculator` (``calc.with_verifier()``:
accuracy is what is measured), so ``eval``, ``score`` and training agree on what is correct.
"""

from r1cli.evaluation.compare import Comparison, compare
from r1cli.evaluation.completions import evaluate_completions
from r1cli.evaluation.datasets import EvalSet, load_eval_set
from r1cli.evaluation.model_eval import evaluate_model
from r1cli.evaluation.output import item_record, write_results
from r1cli.evaluation.request import (
    BACKENDS, DEFAULT_MAX_NEW_TOKENS, EvalRequest, build_request, check_generation, check_limit, check_model_source,
)
from r1cli.evaluation.results import EvalMetrics, EvalReport, Item, Sample, SourceRows, summarise

__all__ = [
    "BACKENDS", "DEFAULT_MAX_NEW_TOKENS", "Comparison", "EvalMetrics", "EvalReport", "EvalRequest", "EvalSet", "Item",
    "Sample", "SourceRows", "build_request", "check_generation", "check_limit", "check_model_source", "compare",
    "evaluate_completions", "evaluate_model", "item_record", "load_eval_set", "summarise", "write_results",
]
