"""glibc malloc settings for training on CPU.

glibc serves every allocation over 32 MB with its own ``mmap`` and hands it back
to the kernel on ``free``, so a step that allocates and frees many such tensors
page-faults them in again every step. When this was added, half the CPU time of a
GRPO step on a 2-core machine went to the kernel, and a SmolLM2-135M step took
1.4x as long as with the settings below, which keep freed memory in the process
for the next step to reuse. Measured side by side on TRL 1.16 the settings are
worth 1.0x per step with full fine-tuning and about 1.1x with LoRA, for up to 1 GB
more peak memory (README, "A GRPO step against a plain TRL script"). The likeliest
reason is that TRL 1.16 computes the loss's log-probabilities with a fused LM head
that works in vocabulary tiles instead of materialising the logits (sequences x
tokens x vocabulary floats, the largest of those allocations); the TRL version of
the first measurement was not recorded. They stay on for the LoRA case.

The same can be had with ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...`` in
the environment before Python starts; ``mallopt`` does it from inside.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

logger = logging.getLogger("r1cli")

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Tell glibc to stop returning freed memory to the kernel; True when the settings took effect."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = (mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1
            and mallopt(_M_TOP_PAD, 256 * 2**20) == 1)
    logger.info("malloc tuned for CPU training: %s", done)
    return done
