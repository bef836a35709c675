"""What the callbacks of one run tell each other, said explicitly.

``run_training`` creates one :class:`RunFlags` and hands it to the callbacks
that set or read it, instead of adding attributes to TRL's ``TrainerControl``:

    flags = RunFlags()
    StopAfterTime(minutes, flags)                  # sets flags.time_budget_reached on the last step
    EnhancedGRPOTrainer(..., run_flags=flags)      # its real-time eval reads it: evaluate that step too
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunFlags:
    """Shared, mutable state of one training run (plain values, no torch)."""

    # max_train_minutes ran out: the step that just ended is the run's last one.
    time_budget_reached: bool = False
