"""Making any JSONL input readable by offset, as scoring needs (``--output``, ``--show-worst``, ``r1 eval``).

:func:`local_input` gives a regular file as it is; ``-`` (standard input), a
FIFO, ``/dev/stdin`` or ``<(...)`` is read once into a temporary spool file
r1 owns and removes, and a gzip file (whatever its name) is decompressed into
one. Memory stays flat: the copy is made in blocks.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from r1cli.errors import DataError

STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"
SPOOL_BLOCK = 1 << 20


@dataclass(frozen=True)
class Input:
    """A JSONL input made readable by offset: ``path`` to read, ``name`` to show (``<stdin>``, the user's path)."""

    path: Path
    name: str
    spooled: bool = False  # path is r1's temporary copy (a stream, or a gzip file decompressed)


def is_stream(path: str | os.PathLike) -> bool:
    """``-``, or something that exists and is not a regular file (a pipe, FIFO, ``/dev/stdin``, ``<(...)``)."""
    if str(path) == STDIN:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def is_gzip(path: str | os.PathLike) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


@contextlib.contextmanager
def local_input(path: str | os.PathLike) -> Iterator[Input]:
    """The input as a regular, uncompressed file for the duration of the block (see the module docstring).

    Raises :class:`DataError` for a path that does not exist or is a directory,
    and for a gzip file that cannot be decompressed.
    """
    source = open_input(path)
    try:
        yield source
    finally:
        release(source)


def open_input(path: str | os.PathLike) -> Input:
    """Like :func:`local_input`, for a caller that keeps the spool longer; :func:`release` removes it."""
    name = "<stdin>" if str(path) == STDIN else str(path)
    if is_stream(path):
        if str(path) == STDIN:
            return _spool(sys.stdin.buffer, name)
        with open(path, "rb") as handle:
            return _spool(handle, name)
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a directory", hint="give a JSONL file (or - for standard input)")
    if not path.is_file():
        raise DataError(f"{path}: no such file", hint="check the path; - reads standard input")
    if is_gzip(path):
        with open(path, "rb") as handle:
            return _spool(handle, name)
    return Input(path, name)


def release(source: Input) -> None:
    """Remove r1's spool file of ``source`` (nothing for a file read in place)."""
    if source.spooled:
        with contextlib.suppress(OSError):
            os.unlink(source.path)


def _spool(handle, name: str) -> Input:
    """Copy ``handle`` (decompressed if it is gzip) into a temporary file r1 owns; memory stays flat."""
    import gzip
    import zlib

    from r1cli.files import WriteError

    head = handle.read(2)
    gzipped = head == GZIP_MAGIC
    fd, tmp = tempfile.mkstemp(prefix="r1-input-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "wb") as out:
            if gzipped:
                with gzip.GzipFile(fileobj=_Prefixed(head, handle), mode="rb") as unzipped:
                    while block := unzipped.read(SPOOL_BLOCK):
                        out.write(block)
            else:
                out.write(head)
                while block := handle.read(SPOOL_BLOCK):
                    out.write(block)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        os.unlink(tmp)
        raise DataError(f"{name}: a gzip file that cannot be decompressed ({exc})",
                        hint="check the file (gunzip -t), or give the uncompressed JSONL") from None
    except OSError as exc:
        os.unlink(tmp)
        raise WriteError.from_os_error(exc, tmp, hint="set TMPDIR to a directory with room for a copy of the input") from exc
    except BaseException:
        os.unlink(tmp)
        raise
    return Input(Path(tmp), name, spooled=True)


class _Prefixed:
    """A binary reader that gives back ``head`` (already read) before the rest of ``handle``."""

    def __init__(self, head: bytes, handle):
        self.head, self.handle = head, handle

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.handle.read(size)
        if size is None or size < 0:
            data, self.head = self.head + self.handle.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        return data + (self.handle.read(size - len(data)) if size > len(data) else b"")
