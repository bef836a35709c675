"""How a reward function is called: TRL's contract, written down once.

TRL's GRPOTrainer calls every reward function as::

    f(prompts=[...], completions=[...], completion_ids=[...], **columns,
      trainer_state=state, log_extra=fn, log_metric=fn)

where ``columns`` are the batch's dataset columns (every key of a row except
``prompt``, ``completion`` and ``completion_ids``), one value per completion.
In training TRL makes that call itself; real-time eval, ``r1 score``, ``r1 eval``
and ``r1 dry-run`` build theirs here, so a custom reward sees the same
arguments everywhere.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

# Row keys TRL passes under their own argument names, never as a dataset column.
TRL_OWN_KEYS = ("prompt", "completion", "completion_ids")
# Keyword arguments TRL passes to every reward; a reward's tunables may not use these names.
RESERVED_KWARGS = frozenset(
    {"completions", "prompts", "completion_ids", "trainer_state", "log_metric", "log_extra", "environments", "kwargs"}
)


def columns_of(rows: Sequence[Mapping[str, Any]], *, skip: Sequence[str] = ()) -> dict[str, list]:
    """The dataset columns of ``rows`` as TRL hands them to rewards: ``{column: [value per row]}``.

    Keys come from the first row (TRL's rule); a later row lacking one gives None there.
    ``skip`` names further keys that are not columns (e.g. the completion column of a scored file).
    """
    if not rows:
        return {}
    excluded = set(TRL_OWN_KEYS) | set(skip) | (RESERVED_KWARGS - {"completion_ids"})
    return {key: [row.get(key) for row in rows] for key in rows[0] if key not in excluded}


def _ignore(*args: Any) -> None:
    return None


def call_arguments(
    completions: Sequence[Any],
    *,
    prompts: Sequence[Any] | None = None,
    completion_ids: Sequence[Any] | None = None,
    columns: Mapping[str, Sequence[Any]] | None = None,
    trainer_state: Any = None,
    log_metric: Callable[[str, float], None] | None = None,
    log_extra: Callable[[str, list], None] | None = None,
) -> dict[str, Any]:
    """The keyword arguments (besides ``completions``) of one reward call outside TRL's own loop.

    ``prompts`` and ``completion_ids`` are passed only when known; ``log_metric`` and ``log_extra``
    default to functions that drop what they are given, so a reward may always call them.
    """
    arguments: dict[str, Any] = dict(columns or {})
    if prompts is not None:
        arguments["prompts"] = list(prompts)
    if completion_ids is not None:
        arguments["completion_ids"] = list(completion_ids)
    if trainer_state is not None:
        arguments["trainer_state"] = trainer_state
    arguments["log_metric"] = log_metric or _ignore
    arguments["log_extra"] = log_extra or _ignore
    return arguments
