"""Cheap facts about this machine, answered without importing torch.

``r1 validate`` must stay fast, so GPU presence is read from the NVIDIA
driver's files and optional packages are found with ``find_spec`` (which
locates a package without importing it).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def package_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def gpu_count() -> int:
    """Visible NVIDIA GPUs, honouring CUDA_VISIBLE_DEVICES; 0 on a CPU machine."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return 0
    gpus = Path("/proc/driver/nvidia/gpus")
    found = len(list(gpus.iterdir())) if gpus.is_dir() else 0
    if visible:
        found = min(found, len([v for v in visible.split(",") if v.strip()]))
    return found


def has_gpu() -> bool:
    return gpu_count() > 0
