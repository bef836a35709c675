"""What a model is evaluated on: :func:`load_eval_set` turns a hub id, file or directory into an :class:`EvalSet`.

Columns come from a benchmark preset (GSM8K, MATH) detected from the column names, or from explicit
column flags (:mod:`r1cli.evaluation.benchmarks`). ``datasets`` loads inside the function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1cli.errors import DataError
from r1cli.evaluation.benchmarks import AUTO, Columns, resolve_columns
from r1cli.rewards.calling import RESERVED_KWARGS, TRL_OWN_KEYS

# Columns that never reach rewards as dataset columns: TRL's own arguments, and the gold (passed as `solution`).
_NOT_EXTRA = set(RESERVED_KWARGS) | set(TRL_OWN_KEYS) | {"solution"}
DEFAULT_SPLIT = "test"


@dataclass
class EvalSet:
    """What is evaluated: chat prompts, raw golds, and the other columns (custom rewards may read them)."""

    name: str
    split: str | None
    columns: Columns
    prompts: list[list[dict]]
    golds: list[Any]
    extra: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.prompts)


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise DataError(f"--limit {limit} selects no items", hint="use --limit 1 or more, or leave it out to evaluate every item")


def load_eval_set(
    dataset: str,
    *,
    split: str | None = None,
    dataset_config: str | None = None,
    limit: int | None = None,
    benchmark: str | None = AUTO,
    prompt_column: str | None = None,
    solution_column: str | None = None,
    system_prompt: str | None = None,
) -> EvalSet:
    """The first ``limit`` rows of ``dataset`` (hub id, file or directory) as chat prompts and golds.

    ``split`` None: the ``test`` split of a hub dataset, or a local file's own rows; a split named
    that the data lacks is an error (:func:`r1cli.data.sources.load_source`), never other rows.
    """
    from r1cli.data.prompts import build_messages
    from r1cli.data.sources import load_source

    check_limit(limit)
    local = Path(str(dataset)).expanduser()
    if local.is_file() and _blank(local):
        raise DataError(f"dataset {dataset} is empty", hint="give a file with one item per line (GSM8K or MATH layout)")
    split_given, split = split is not None, split or DEFAULT_SPLIT
    ds = load_source(str(dataset), config=dataset_config, split=split, split_given=split_given)
    if len(ds) == 0:
        raise DataError(f"dataset {dataset} (split {split!r}) has no rows", hint="check the file, or choose another --split")
    if limit is not None and limit < len(ds):
        ds = ds.select(range(limit))
    rows = ds.to_list()
    columns = resolve_columns(ds.column_names, benchmark=benchmark, prompt_column=prompt_column,
                              solution_column=solution_column, first_row=rows[0])
    extra = {c: [r[c] for r in rows] for c in ds.column_names if c not in _NOT_EXTRA | {columns.prompt, columns.solution}}
    return EvalSet(
        name=str(dataset), split=split, columns=columns,
        prompts=[build_messages(r[columns.prompt], system_prompt) for r in rows],
        golds=[r[columns.solution] for r in rows], extra=extra,
    )


def _blank(path: Path) -> bool:
    with open(path, "rb") as handle:
        return not any(line.strip() for line in handle)
