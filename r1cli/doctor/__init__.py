"""The training doctor: reads a run's metric stream, says what is going wrong and what to try, keeps the best model.

- :mod:`r1cli.doctor.rules`: the diagnosis rules, each with its documented trigger, and :class:`Finding`.
- :mod:`r1cli.doctor.diagnose`: :class:`Doctor` feeds records to every rule (live or after the fact).
- :mod:`r1cli.doctor.sources`: an r1 run's metrics.jsonl, or a transformers trainer_state.json's log_history.
- :mod:`r1cli.doctor.annotations`: the findings ``r1 report`` shows: lines for its page, marks for its plot.
- :mod:`r1cli.doctor.keep_best`: ``<run>/best/``, the checkpoint with the best eval metric.

Torch-free: ``r1 doctor`` imports this; training's callback
(:mod:`r1cli.training.doctor_callback`) runs the same rules on every logged step.
"""

from r1cli.doctor.diagnose import Doctor, diagnose, finding_record
from r1cli.doctor.rules import Finding

__all__ = ["Doctor", "Finding", "diagnose", "finding_record"]
