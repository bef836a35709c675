"""Where r1 keeps files between runs: ``$R1_CACHE``, else the user cache directory (``~/.cache/r1``)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    root = os.environ.get("R1_CACHE")
    if root:
        return Path(root).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "r1"
