"""Writing files safely: every file r1 writes goes through here.

Writes are atomic (a temporary file in the same directory, then ``os.replace``)
so a crash never leaves a half-written file, and nothing that exists is
overwritten unless the caller passes ``force=True``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from r1cli.errors import OutputExistsError


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, *, force: bool = False) -> None:
    with atomic_open(path, "w", force=force) as handle:
        handle.write(text)


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
