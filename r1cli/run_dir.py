"""A run directory and the files r1 writes into it: the one place their names are spelled.

    run = RunDirectory.of(recipe)          # output_dir, else runs/<recipe file name>
    run.metrics                            # <run>/metrics.jsonl
    run.last_checkpoint()                  # newest complete checkpoint-N, or None
    run.record("config.yaml")              # r1 created this entry (the manifest, .r1-run.json)
    with run.lock(): ...                   # one run per directory (fcntl; dies with its process)

A run directory records what r1 created in it: the manifest ``.r1-run.json``
lists the entries (files and directories directly inside it) that r1 made,
its own files before they are written, what transformers saves (checkpoints,
model files) after each save. ``--overwrite`` removes exactly those
(:meth:`RunDirectory.owned` / :meth:`RunDirectory.foreign`), never anything
else: a directory without a manifest belongs to its user.

Every writer (training, the real-time completions log, `r1 report`) and every
reader (resume, `r1 report`, the tests) asks this object for a path instead of
spelling a file name. Nothing here imports torch, or anything above the lowest
layer: a recipe is read by its attributes only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from r1cli.errors import R1Error


class RunLockedError(R1Error):
    """Another r1 process is running in this run directory."""


class RunDirectory:
    """The directory of one sft/grpo run (it need not exist yet)."""

    CONFIG = "config.yaml"  # the resolved recipe, secrets removed
    METRICS = "metrics.jsonl"  # every logged step
    LOG = "training.log"  # what transformers, TRL and r1 log
    SUMMARY = "summary.json"  # how the run ended
    COMPLETIONS = "completions.jsonl"  # sampled completions (save_completions)
    REPORT_PNG = "report.png"  # `r1 report`
    REPORT_HTML = "report.html"
    CHECKPOINT_PREFIX = "checkpoint-"  # transformers' checkpoint-N directories
    TRAINER_STATE = "trainer_state.json"  # written last into a checkpoint by transformers
    MODEL_CARD = "README.md"  # the model card r1 writes over transformers' (training/model_card.py)
    BEST = "best"  # keep_best: the best checkpoint, out of save_total_limit's reach (doctor/keep_best.py)
    BEST_STATE = "keep_best.json"  # inside best/: the metric, its value and the step
    MANIFEST = ".r1-run.json"  # the entries r1 created in this directory
    LOCK = ".r1-run.lock"  # held (fcntl) by the main process of the run writing here

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @classmethod
    def of(cls, recipe: Any) -> "RunDirectory":
        """A recipe's run directory: its ``output_dir``, else ``runs/<recipe file name>``."""
        return cls(recipe.r1.output_dir or Path("runs") / Path(recipe.path).stem)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> Path:
        return self.path / self.CONFIG

    @property
    def metrics(self) -> Path:
        return self.path / self.METRICS

    @property
    def log(self) -> Path:
        return self.path / self.LOG

    @property
    def summary(self) -> Path:
        return self.path / self.SUMMARY

    @property
    def completions(self) -> Path:
        return self.path / self.COMPLETIONS

    @property
    def report_png(self) -> Path:
        return self.path / self.REPORT_PNG

    @property
    def report_html(self) -> Path:
        return self.path / self.REPORT_HTML

    @property
    def model_card(self) -> Path:
        return self.path / self.MODEL_CARD

    @property
    def best(self) -> Path:
        return self.path / self.BEST

    @property
    def markers(self) -> tuple[Path, ...]:
        """The files only an r1 run writes: one of them (or a checkpoint) makes a directory an r1 run."""
        return (self.config, self.metrics, self.log, self.summary)

    def checkpoint(self, step: int) -> Path:
        return self.path / f"{self.CHECKPOINT_PREFIX}{step}"

    @classmethod
    def checkpoint_step(cls, checkpoint: str | os.PathLike) -> int | None:
        """N of a ``checkpoint-N`` path, else None."""
        name = Path(checkpoint).name
        suffix = name.rpartition("-")[2] if name.startswith(cls.CHECKPOINT_PREFIX) else ""
        return int(suffix) if suffix.isascii() and suffix.isdigit() else None

    def checkpoints(self) -> list[Path]:
        """The complete ``checkpoint-N`` directories, oldest first.

        transformers writes trainer_state.json last, and not atomically: a run killed
        while saving leaves a directory without it, or with it cut short. Only a
        trainer_state.json that reads as a JSON object makes a checkpoint complete.
        """
        found = []
        for path in self.path.glob(f"{self.CHECKPOINT_PREFIX}*"):
            step = self.checkpoint_step(path)
            if step is not None and path.is_dir() and _complete_state(path / self.TRAINER_STATE):
                found.append((step, path))
        return [path for _, path in sorted(found)]

    def last_checkpoint(self) -> Path | None:
        """The newest complete ``checkpoint-N`` directory, or None."""
        found = self.checkpoints()
        return found[-1] if found else None

    def exists(self) -> bool:
        return self.path.is_dir()

    def is_empty(self) -> bool:
        """True when the directory is missing or has nothing in it but r1's manifest and lock."""
        return not (self.entries() - {self.MANIFEST, self.LOCK})

    def is_run(self) -> bool:
        """Does this directory look like an r1 run (a file only r1 writes, or a complete checkpoint)?"""
        return (self.has_manifest() or any(path.exists() for path in self.markers)
                or self.last_checkpoint() is not None)


    # -- ownership: what r1 created here ---------------------------------------------------------------

    @property
    def manifest(self) -> Path:
        return self.path / self.MANIFEST

    def has_manifest(self) -> bool:
        return self.manifest.is_file()

    def recorded(self) -> set[str]:
        """The entry names the manifest says r1 created (empty without a readable manifest)."""
        try:
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        names = data.get("created") if isinstance(data, dict) else None
        return {n for n in names if _plain_name(n)} if isinstance(names, list) else set()

    def record(self, *names: str | os.PathLike) -> None:
        """Add entries (names, or paths directly inside this directory) to the manifest; creates the directory."""
        from r1cli.files import atomic_write_text

        new = set()
        for name in names:
            name = Path(name).name if Path(name).parent in (Path("."), self.path) else str(name)
            if not _plain_name(name):
                raise ValueError(f"not an entry of {self.path}: {name!r}")
            new.add(name)
        known = self.recorded()
        if self.has_manifest() and new <= known:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        data = {"r1": 1, "created": sorted(known | new | {self.MANIFEST, self.LOCK})}
        atomic_write_text(self.manifest, json.dumps(data, indent=1) + "\n", force=True)

    def entries(self) -> set[str]:
        """The names of everything directly inside the directory (nothing when it is missing)."""
        try:
            return {entry.name for entry in self.path.iterdir()}
        except (FileNotFoundError, NotADirectoryError):
            return set()

    def record_new(self, before: Iterable[str]) -> None:
        """Record every entry that appeared since ``before`` (what transformers saved for this run)."""
        new = self.entries() - set(before)
        if new:
            self.record(*sorted(new))

    def owned(self) -> list[str]:
        """Entries present now that r1 created (the manifest lists them), sorted."""
        recorded = self.recorded() if self.has_manifest() else set()
        return sorted(self.entries() & recorded)

    def foreign(self) -> list[str]:
        """Entries present now that r1 did not create: ``--overwrite`` refuses while there are any."""
        recorded = self.recorded() if self.has_manifest() else set()
        return sorted(self.entries() - recorded - {self.LOCK})

    def remove_owned(self) -> list[str]:
        """Delete the entries r1 created (never following a symlink); keep the directory and the manifest.

        Callers check :meth:`foreign` first. Returns the names removed.
        """
        removed = []
        for name in self.owned():
            if name in (self.MANIFEST, self.LOCK):
                continue
            entry = self.path / name
            if entry.is_symlink() or not entry.is_dir():
                entry.unlink(missing_ok=True)
            else:
                shutil.rmtree(entry)  # does not follow symlinks inside it
            removed.append(name)
        from r1cli.files import atomic_write_text

        data = {"r1": 1, "created": sorted({self.MANIFEST, self.LOCK})}
        atomic_write_text(self.manifest, json.dumps(data, indent=1) + "\n", force=True)
        return removed

    # -- one run at a time --------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this directory's lock for the block; raise :class:`RunLockedError` naming the holder.

        An ``fcntl`` lock on ``.r1-run.lock``: the kernel drops it when its process
        dies (``kill -9`` included), so a lock left behind is stale by construction.
        The file keeps the holder's PID, host and start time for the message.
        The directory is created; if nothing of r1's is in it when the lock is
        released, the lock file is removed again.
        """
        import fcntl

        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / self.LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunLockedError(f"{self.path} is in use by another r1 run ({_holder(fd)})",
                                     hint="wait for it to end, or stop that process; one run per directory") from None
            os.ftruncate(fd, 0)
            holder = {"pid": os.getpid(), "host": socket.gethostname(),
                      "started": time.strftime("%Y-%m-%d %H:%M:%S %z")}
            os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
            try:
                yield
            finally:
                if not self.has_manifest():
                    with contextlib.suppress(OSError):
                        os.unlink(self.path / self.LOCK)
        finally:
            os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        return f"pid {data['pid']} on {data['host']}, started {data['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def _plain_name(name: Any) -> bool:
    """A name directly inside a directory: no separators, no '.', '..' or empty names."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\0" not in name


def _complete_state(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):  # missing, unreadable, cut short, not UTF-8
        return False
