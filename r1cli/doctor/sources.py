"""Where ``r1 doctor`` reads a metric stream: an r1 run directory or a plain transformers/TRL output directory.

    history = load_history(Path("runs/quickstart/grpo"))
    history.source      # the file read: <run>/metrics.jsonl, or a trainer_state.json
    history.records     # [{"step": s, **metrics}, ...] in logged order
    history.logged      # findings a live r1 run already wrote ({"event": "doctor"} lines)
    history.settings    # an r1 run's recipe values (its config.yaml), so no finding suggests what it has

An r1 run is read from its ``metrics.jsonl`` (names from :class:`RunDirectory`).
Anything else with a ``trainer_state.json`` (in the directory, or in its newest
``checkpoint-N``) is read from that file's ``log_history``: transformers writes
one dict per ``Trainer.log`` call there, with TRL's metric names, ``step`` and
``epoch``, and NaN as the bare word ``NaN`` (which Python's json reads).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from r1cli.doctor.diagnose import logged_findings, step_of
from r1cli.doctor.rules import Finding
from r1cli.errors import DataError
from r1cli.files import read_jsonl
from r1cli.run_dir import RunDirectory


@dataclass
class History:
    source: Path
    records: list[dict]
    logged: list[Finding] = field(default_factory=list)
    settings: dict = field(default_factory=dict)


def _trainer_state(path: Path) -> History:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise DataError(f"{path} has no log_history", hint="point r1 doctor at a transformers output directory")
    records = [r for r in history if isinstance(r, dict)]
    for record in records:
        record.setdefault("step", state.get("global_step", 0))
    return History(path, _with_int_steps(records))


def _with_int_steps(records: list[dict]) -> list[dict]:
    """The records whose ``step`` (when they have one) is a finite number, given as an int; a hand-edited
    or foreign file's ``"step": "x"`` or ``NaN`` would otherwise stop the rules with a traceback."""
    kept = []
    for record in records:
        if "step" in record:
            step = step_of(record)
            if step is None:
                continue
            record["step"] = step
        kept.append(record)
    return kept


def _metrics(path: Path) -> History:
    try:
        lines = read_jsonl(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    records = _with_int_steps([r for r in lines if isinstance(r, dict) and "event" not in r])
    logged = logged_findings(lines)
    return History(path, records, logged, _run_settings(RunDirectory(path.parent).config))


def _run_settings(config: Path) -> dict:
    """The recipe an r1 run saved beside its metrics (config.yaml), as a dict; {} when there is none or it is unreadable
    (the findings then simply may suggest a setting the run has)."""
    import yaml

    try:
        values = yaml.safe_load(config.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return values if isinstance(values, dict) else {}


def load_history(path: Path) -> History:
    """The metric stream at ``path``: a run directory, an output directory, a metrics.jsonl or a trainer_state.json."""
    history = _load(Path(path).expanduser())
    if not history.records:
        raise DataError(f"{history.source} has no logged metrics yet",
                        hint="the run logs its first record after its first step (logging_steps)")
    return history


def _load(path: Path) -> History:
    if path.is_file():
        return _trainer_state(path) if path.name == RunDirectory.TRAINER_STATE else _metrics(path)
    if path.exists() and not path.is_dir():
        raise DataError(f"{path} is not a file or a directory",
                        hint="pass an r1 run directory or a transformers output directory")
    if not path.is_dir():
        raise DataError(f"{path} does not exist", hint="pass an r1 run directory or a transformers output directory")
    run = RunDirectory(path)
    if run.metrics.is_file():
        return _metrics(run.metrics)
    if (path / RunDirectory.TRAINER_STATE).is_file():
        return _trainer_state(path / RunDirectory.TRAINER_STATE)
    checkpoint = run.last_checkpoint()
    if checkpoint is not None:
        return _trainer_state(checkpoint / RunDirectory.TRAINER_STATE)
    raise DataError(f"{path} has neither {RunDirectory.METRICS} nor {RunDirectory.TRAINER_STATE}",
                    hint="pass an r1 run directory, or a transformers/TRL output_dir (or one of its checkpoint-N)")
