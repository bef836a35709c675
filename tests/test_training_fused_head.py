"""TRL's fused LM head on a CPU: compact_on_cpu scores only the labelled positions, narrow_tiles_on_cpu works in
narrower vocabulary tiles; both with TRL's results (up to float rounding)."""

from __future__ import annotations

import contextlib

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

import trl.trainer.utils as trl_utils  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

from r1cli.training import fused_head  # noqa: E402
from r1cli.training.fused_head import compact_on_cpu, narrow_tiles_on_cpu  # noqa: E402


@pytest.fixture
def head_model(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    trl_utils.add_fused_lm_head(model, temperature=0.7, outputs=("log_probs", "entropy"))
    return model


def batch(scored: bool = True):
    """Two rows, left-padded prompts and right-padded completions, labels on completion tokens only (as TRL builds
    them); ``scored=False``: no label at all (a micro-batch of empty completions)."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 200, (2, 12), generator=generator)
    mask = torch.ones_like(ids)
    mask[0, :3] = 0  # prompt padding
    mask[1, -4:] = 0  # completion padding
    completion = 6
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :-completion] = -100
    if not scored:
        labels[:] = -100
    return ids, mask, labels


def kernel_rows(monkeypatch) -> list[int]:
    """Rows (positions) each call to TRL's chunked log-prob kernel projects."""
    rows: list[int] = []
    kernel = trl_utils._ChunkedLogProbFunction
    real = kernel.apply

    def counted(hidden, *args):
        rows.append(hidden.shape[0])
        return real(hidden, *args)

    monkeypatch.setattr(kernel, "apply", counted)
    return rows


def score(model, compact: bool, *, scored: bool = True, with_entropy: bool = False, narrow: bool = False):
    """Log-probs, entropy, loss and parameter gradients of one fused-head forward (+ entropy in the backward)."""
    ids, mask, labels = batch(scored)
    model.zero_grad()
    with (compact_on_cpu() if compact else contextlib.nullcontext(),
          narrow_tiles_on_cpu(ids.device) if narrow else contextlib.nullcontext()):
        out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
    objective = out.loss + (out.entropy.sum() if with_entropy else 0)
    objective.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return out.log_probs.detach(), out.entropy.detach(), out.loss.detach(), grads


def assert_same(full, compact, scored_positions, *, regrouped_sums: bool = False):
    """Equal up to float rounding. ``regrouped_sums``: the gradients' sums over the vocabulary are grouped
    differently, so their rounding is relative to each gradient's largest entry, not to every entry."""
    for a, b in zip(full[:2], compact[:2]):
        torch.testing.assert_close(a[scored_positions], b[scored_positions], rtol=1e-5, atol=1e-6)
        assert not b[~scored_positions].any()  # unscored positions are zeros, as TRL leaves them
    torch.testing.assert_close(full[2], compact[2], rtol=1e-5, atol=1e-6)
    assert full[3].keys() == compact[3].keys()
    for name, grad in full[3].items():
        atol = 1e-5 * float(grad.abs().max()) if regrouped_sums else 1e-6
        torch.testing.assert_close(grad, compact[3][name], rtol=1e-4, atol=max(atol, 1e-6), msg=name)


def test_only_the_labelled_positions_reach_the_projection(head_model, monkeypatch):
    rows = kernel_rows(monkeypatch)
    _, _, labels = batch()
    score(head_model, compact=False)
    score(head_model, compact=True)
    scored = int((labels[:, 1:] != -100).sum())
    assert rows == [labels[:, 1:].numel(), scored]  # TRL alone: every position; compacted: the scored ones
    assert scored < labels[:, 1:].numel()


@pytest.mark.parametrize("with_entropy", [False, True], ids=["log-probs", "log-probs-and-entropy-gradient"])
def test_same_log_probs_entropy_loss_and_gradients(head_model, with_entropy):
    # with_entropy: TRL's entropy bonus back-propagates through the entropy too
    full = score(head_model, compact=False, with_entropy=with_entropy)
    compact = score(head_model, compact=True, with_entropy=with_entropy)
    assert full[3]
    assert_same(full, compact, batch()[2][:, 1:] != -100)


def test_a_batch_with_nothing_to_score_gives_zeros_and_a_graph(head_model, monkeypatch):
    rows = kernel_rows(monkeypatch)
    full = score(head_model, compact=False, scored=False)
    compact = score(head_model, compact=True, scored=False)
    assert rows[1] == 0
    assert_same(full, compact, batch(False)[2][:, 1:] != -100)


def test_same_results_with_the_head_cast_to_fp32(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    trl_utils.add_fused_lm_head(model, temperature=1.0, cast_lm_head_to_fp32=True, outputs=("log_probs", "entropy"))
    assert_same(score(model, compact=False), score(model, compact=True), batch()[2][:, 1:] != -100)


def test_disabled_nested_and_overlapping_blocks():
    original = trl_utils._use_triton
    cpu = torch.device("cpu")
    with compact_on_cpu(enabled=False):  # torch_compile: TRL's own choice stays
        assert trl_utils._use_triton is original
    with compact_on_cpu():
        patched = trl_utils._use_triton
        with compact_on_cpu():  # nested: the enclosing block's patch stays, and stays after the inner one
            assert trl_utils._use_triton is patched
        assert trl_utils._use_triton is patched and patched(cpu)
    assert trl_utils._use_triton is original
    with compact_on_cpu():
        assert trl_utils._use_triton is patched  # one function for every block: a stable identity


def test_the_switch_is_put_back_even_when_the_block_raises():
    original = trl_utils._use_triton
    with pytest.raises(RuntimeError):
        with compact_on_cpu():
            assert trl_utils._use_triton(torch.device("cpu")) is True
            assert trl_utils._use_triton(torch.device("meta")) is original(torch.device("meta"))
            raise RuntimeError("boom")
    assert trl_utils._use_triton is original
    # the kernel's own Triton-or-torch choice is not the patched name: it still says no Triton on a CPU
    from trl.kernels import chunked_logprob

    assert chunked_logprob._use_triton(torch.device("cpu")) is False


def tile_widths(monkeypatch) -> dict[str, list[int]]:
    """Vocabulary columns of every tile TRL's torch kernel folds, forward and backward."""
    from trl.kernels import chunked_logprob

    widths: dict[str, list[int]] = {"forward": [], "backward": []}
    for name, phase in (("_forward_tile", "forward"), ("_backward_tile", "backward")):
        real = getattr(chunked_logprob, name)

        def spy(tile, *args, _real=real, _phase=phase, **kwargs):
            widths[_phase].append(tile.shape[1])
            return _real(tile, *args, **kwargs)

        monkeypatch.setattr(chunked_logprob, name, spy)
    return widths


@pytest.mark.parametrize("with_entropy", [False, True], ids=["log-probs", "log-probs-and-entropy-gradient"])
def test_narrow_tiles_give_trls_results_and_the_backward_keeps_the_width(head_model, monkeypatch, with_entropy):
    # The tiny model's 400-token vocabulary fits one TRL tile: narrow to 64 columns so the fold really splits.
    monkeypatch.setattr(fused_head, "CPU_TILE_COLUMNS", 64)
    widths = tile_widths(monkeypatch)
    wide = score(head_model, compact=True, with_entropy=with_entropy)
    vocabulary = head_model.get_output_embeddings().weight.shape[0]
    assert widths["forward"] == [vocabulary] and widths["backward"] == [vocabulary]
    widths["forward"].clear(), widths["backward"].clear()
    narrow = score(head_model, compact=True, with_entropy=with_entropy, narrow=True)
    expected = [64] * (vocabulary // 64) + ([vocabulary % 64] if vocabulary % 64 else [])
    assert widths["forward"] == expected
    assert widths["backward"] == expected  # outside the block: the width travels with the autograd graph
    assert_same(wide, narrow, batch()[2][:, 1:] != -100, regrouped_sums=True)
    assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE > 64  # put back


def test_narrow_tiles_only_on_a_cpu_and_only_narrower(monkeypatch):
    original = trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE
    assert original > fused_head.CPU_TILE_COLUMNS  # TRL's width: what this block exists for
    with narrow_tiles_on_cpu(torch.device("meta")):  # any other device: TRL's width
        assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == original
    with narrow_tiles_on_cpu(torch.device("cpu")):
        assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == fused_head.CPU_TILE_COLUMNS
        with narrow_tiles_on_cpu(torch.device("cpu")):  # nested: no-op, and the outer block's width stays
            pass
        assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == fused_head.CPU_TILE_COLUMNS
    assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == original
    with pytest.raises(RuntimeError):
        with narrow_tiles_on_cpu(torch.device("cpu")):
            raise RuntimeError("boom")
    assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == original
    monkeypatch.setattr(trl_utils, "_CHUNKED_LOGPROB_CHUNK_SIZE", 1024)  # already narrower: left as it is
    with narrow_tiles_on_cpu(torch.device("cpu")):
        assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == 1024
