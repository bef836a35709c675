"""TRL's fused LM head on a CPU: only the completion tokens scored, in narrower tiles.

GRPO's loss needs the log-probability of each completion token. TRL computes it
with a fused LM head (``trl.trainer.utils.add_fused_lm_head``): the model's
backbone runs on the whole sequence (prompt + completion), then the hidden states
go through the vocabulary projection in tiles, never materialising the logits. Its
documented contract is to project "only the positions whose next-token label is
not -100", which TRL keeps on Triton devices (CUDA, XPU). Everywhere else it
projects every position (prompt, padding and completion) and masks afterwards,
because on a device that compiles tile shapes (Neuron) a number of positions
that changes with every batch would recompile. Eagerly run, a CPU compiles nothing, and there
the extra positions were a large part of the loss's cost: at the quickstart's settings
(54-token prompts, 64-token completions, a 49,152-token vocabulary) the head
projected 1,888 positions where 886 were scored, and it and its backward (which
recomputes every tile) took about 6 s of a 22 s forward/backward, and 1.4 GB of
peak memory went to the tiles.

:func:`compact_on_cpu` makes TRL's fused head take its own compact path on a CPU:
the valid positions are gathered before the projection and scattered back after,
through the same kernel (its torch tiles on a CPU), so each scored position gets
the same computation on fewer rows (equal up to float rounding: the products run
over fewer rows). Which device compacts is the one fact patched
(``trl.trainer.utils._use_triton`` answers the head's question "gather first?");
the kernel's own choice of Triton or torch tiles reads its module's copy and is
untouched. Where TRL no longer asks that question, nothing changes. Under
``torch_compile`` the caller passes ``enabled=False``: there a CPU does compile, and a
data-dependent number of rows is what TRL avoids. Nested blocks are no-ops; blocks
on two threads at once could end compaction early for the other (speed, not results).

:func:`narrow_tiles_on_cpu` bounds the tiles themselves. TRL's head projects up to 4,096
positions against 32,768 vocabulary columns per tile (``_CHUNKED_LOGPROB_CHUNK_SIZE``), sized for
a GPU kernel that folds a tile in registers; on a CPU the torch fold makes several
tile-sized temporaries, forward and again in the backward's recompute. Measured on the 2-core
CPU machine (SmolLM2's 49,152 x 576 head, forward and backward with entropy, one process,
``bench``-style medians): 1,024 positions peaked 1,186 MiB above the start with 32,768 columns
and 150 MiB with 4,096, in 1.54 vs 1.46 s (bench/bench_cpu_loss.py); 4,096 positions 4,745 vs 601 MiB, in 7.3 vs 7.5 s.
So on a CPU the head works in ``CPU_TILE_COLUMNS`` columns: the same arithmetic per column,
folded over more tiles (equal to TRL's up to float rounding: the running log-sum-exp and the
gradient's sums are accumulated in a different grouping; a vocabulary no wider than one tile
is untouched). The width is read by TRL's head when it is called and kept by its backward, so
the block need only cover the forward. Like the compaction switch it is a module global: a head
called on another thread while a block is open takes the narrow width too (rounding, not results).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Callable, Iterator


@contextlib.contextmanager
def compact_on_cpu(enabled: bool = True) -> Iterator[None]:
    """Within the block, TRL's fused LM head projects only the scored positions on a CPU as well."""
    try:
        import trl.trainer.utils as trl_utils
    except ImportError:  # no TRL, no fused head to compact
        yield
        return
    asks = getattr(trl_utils, "_use_triton", None)
    if not enabled or asks is None or getattr(asks, "compacts_on_cpu", False):
        yield  # nothing to patch, or an enclosing block already did
        return
    compact = _compacting(asks)
    trl_utils._use_triton = compact
    try:
        yield
    finally:
        if trl_utils._use_triton is compact:
            trl_utils._use_triton = asks


# Vocabulary columns per tile of TRL's fused head on a CPU (above: 8x less memory, the same speed).
CPU_TILE_COLUMNS = 4096


@contextlib.contextmanager
def narrow_tiles_on_cpu(device) -> Iterator[None]:
    """Within the block, TRL's fused LM head works in ``CPU_TILE_COLUMNS``-wide tiles when ``device`` is a CPU."""
    try:
        import trl.trainer.utils as trl_utils
    except ImportError:
        yield
        return
    width = getattr(trl_utils, "_CHUNKED_LOGPROB_CHUNK_SIZE", None)
    if device.type != "cpu" or not isinstance(width, int) or width <= CPU_TILE_COLUMNS:
        yield  # not a CPU, a TRL that no longer has this width, or an enclosing block already narrowed it
        return
    trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE = CPU_TILE_COLUMNS
    try:
        yield
    finally:
        if trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == CPU_TILE_COLUMNS:
            trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE = width


@functools.cache
def _compacting(asks: Callable) -> Callable:
    """TRL's answer, and yes on a CPU; one function per original (a stable identity for every block)."""

    def compact(device) -> bool:
        return device.type == "cpu" or asks(device)

    compact.compacts_on_cpu = True
    return compact
