"""Writing files safely: every file r1 writes goes through here.

Writes are atomic (a temporary file in the same directory, then ``os.replace``)
so a crash never leaves a half-written file, and nothing that exists is
overwritten unless the caller passes ``force=True``. A write that fails (disk
full, read-only file system, a parent that is a file, a directory where the
file goes) raises :class:`WriteError`: one line naming the path and the cause;
the file that was there before is untouched. :func:`check_writable` asks the
same questions before long work starts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from r1cli.errors import OutputExistsError, R1Error


class WriteError(R1Error):
    """A file cannot be written: the path and the cause, in one line."""

    @classmethod
    def from_os_error(cls, exc: OSError, path: str | os.PathLike, hint: str | None = None) -> "WriteError":
        return cls(f"cannot write {path}: {_cause(exc)}", hint=hint or _HINTS.get(exc.errno))


_HINTS = {
    errno.ENOSPC: "free some space on that disk, or write somewhere else",
    errno.EDQUOT: "free some space within your quota, or write somewhere else",
    errno.EROFS: "write somewhere else: that file system is read-only",
    errno.EACCES: "write somewhere you may write, or fix the permissions",
    errno.ENOTDIR: "a part of the path is a file, not a directory: choose another path",
    errno.EISDIR: "a directory is in the way: give a file name",
}


def _cause(exc: OSError) -> str:
    if exc.errno == errno.ENOTDIR:
        return "a parent of it is a file, not a directory"
    if exc.errno == errno.EISDIR:
        return "it is a directory"
    return (exc.strerror or type(exc).__name__).lower() if exc.errno else str(exc)


def check_writable(path: str | os.PathLike, *, force: bool = False, flag: str = "--force") -> None:
    """Can ``path`` be written? Checked before long work starts; raises :class:`OutputExistsError` or :class:`WriteError`.

    The parent directories are created (as the write would) and a probe file is
    written and removed in the file's directory. A full disk may still fail the
    real write later; that raises :class:`WriteError` too.
    """
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"cannot write {path}: it is a directory", hint=_HINTS[errno.EISDIR])
    refuse_overwrite(path, force, flag)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except FileExistsError as exc:  # mkdir: a file where a parent directory goes
        raise WriteError.from_os_error(OSError(errno.ENOTDIR, "not a directory"), path) from exc
    except OSError as exc:
        raise WriteError.from_os_error(exc, path) from exc


# JSON may carry lone surrogates ("\ud800"), which UTF-8 cannot encode. Written with this error
# handler, json.dumps(..., ensure_ascii=False) output turns each back into its JSON escape "\ud800":
# the line stays valid JSON and reads back to the same string.
JSON_ERRORS = "backslashreplace"


def refuse_overwrite(path: Path, force: bool, flag: str = "--force") -> None:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``force`` is off."""
    if path.exists() and not force:
        raise OutputExistsError(f"{path} already exists", hint=f"pass {flag} to overwrite it")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, force: bool = False, encoding: str | None = "utf-8",
                errors: str | None = None) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    ``errors`` is the text encoding's error handler (see :data:`JSON_ERRORS`).
    """
    path = Path(path)
    refuse_overwrite(path, force)
    if path.is_dir():
        raise WriteError(f"cannot write {path}: it is a directory", hint=_HINTS[errno.EISDIR])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileExistsError as exc:
        raise WriteError.from_os_error(OSError(errno.ENOTDIR, "not a directory"), path) from exc
    except OSError as exc:
        raise WriteError.from_os_error(exc, path) from exc
    # mkstemp creates 0600; give the file the permissions a plain open() would have.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        text = "b" not in mode
        with os.fdopen(fd, mode, encoding=encoding if text else None, errors=errors if text else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, (FileNotFoundError, WriteError)):
            raise WriteError.from_os_error(exc, path) from exc
        raise


def atomic_write_text(path: str | os.PathLike, text: str, *, force: bool = False) -> None:
    with atomic_open(path, "w", force=force) as handle:
        handle.write(text)


def write_file(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (r1's own files: config.yaml, summary.json...)."""
    atomic_write_text(path, text, force=True)


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Every complete JSON object of a JSONL file; a last line cut short by a crash is skipped."""
    import json

    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                if line.endswith("\n"):
                    raise  # a malformed line in the middle is a real problem, not a crash artefact
    return records
