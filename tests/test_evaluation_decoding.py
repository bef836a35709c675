"""r1's decoding loop against transformers' ``generate`` (r1cli.evaluation.decoding).

The contract: for every row, the tokens ``generate`` would produce for that prompt (greedy),
or the same distribution (sampling), whatever the batch looks like: repeated prompts, a shared
prefix, prompts of very different lengths, rows stopping at different steps. And every
model the loop cannot drive is left to ``generate`` (the settings: test_evaluation_sampling.py).
"""

from __future__ import annotations

from collections import Counter

import pytest

from r1cli.evaluation.decoding import _reserved, decode, draw, supports
from r1cli.evaluation.sampling import Sampling

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    from r1cli.models import load_model

    model = load_model(tiny_model_dir)
    model.eval()
    return model


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from r1cli.models import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def chat(tokenizer, text: str, system: str = "You are a careful solver.") -> list[int]:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return tokenizer(rendered, add_special_tokens=False)["input_ids"]


def reference(model, prompt: list[int], max_new_tokens: int, stop_ids: set[int], pad_id: int, **sampling) -> list[int]:
    """``generate`` on one prompt alone (no padding), cut after the first stop token."""
    with torch.no_grad():
        out = model.generate(input_ids=torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                             max_new_tokens=max_new_tokens, pad_token_id=pad_id, eos_token_id=sorted(stop_ids),
                             **(sampling or dict(do_sample=False, temperature=None, top_p=None, top_k=None)))
    tokens = out[0, len(prompt):].tolist()
    for i, token in enumerate(tokens):
        if token in stop_ids:
            return tokens[: i + 1]
    return tokens


def test_greedy_tokens_equal_generate_per_prompt_for_any_batch(model, tokenizer):
    texts = ["What is 2 + 3?", "Solve for x: x * 4 = 12, and explain every step carefully, step by step.",
             "flat", "Compute 7 - 2, then multiply by 3.", "What is 2 + 3?"]
    prompts = [chat(tokenizer, t) for t in texts] + [chat(tokenizer, "Compute", system="Other system")]
    prompts += [prompts[1], [prompts[0][0]]]  # a repeat and a one-token prompt (nothing shared with the rest)
    pad = tokenizer.pad_token_id
    free = [reference(model, p, 12, set(), pad) for p in prompts]
    # Stop tokens the references really emit, so rows stop at different steps and the batch shrinks.
    stop_ids = {free[0][3], free[1][5]}
    expected = [reference(model, p, 12, stop_ids, pad) for p in prompts]
    assert len({len(e) for e in expected}) > 1  # rows stop at different steps
    with torch.no_grad():
        got = decode(model, prompts, max_new_tokens=12, sampling=Sampling(), stop_ids=stop_ids, pad_id=pad)
        alone = [decode(model, [p], max_new_tokens=12, sampling=Sampling(), stop_ids=stop_ids, pad_id=pad)[0]
                 for p in prompts]
    assert got == expected == alone


def test_sampling_draws_from_generates_distribution(model, tokenizer):
    # The first two tokens' joint distribution, sampled 3,000 times each way, through every processor the loop
    # reproduces (the repetition penalty reads the prompt and the first token).
    prompt = chat(tokenizer, "What is 2 + 3?")
    settings = dict(do_sample=True, temperature=0.7, top_k=6, top_p=0.9, min_p=0.05, repetition_penalty=1.3)
    sampling = Sampling(temperature=0.7, top_k=6, top_p=0.9, min_p=0.05, repetition_penalty=1.3)
    n, pad = 3000, tokenizer.pad_token_id
    torch.manual_seed(0)
    with torch.no_grad():
        out = model.generate(input_ids=torch.tensor([prompt] * n), attention_mask=torch.ones(n, len(prompt), dtype=torch.long),
                             max_new_tokens=2, pad_token_id=pad, eos_token_id=None, **settings)
        theirs = Counter(tuple(row) for row in out[:, len(prompt):].tolist())
        torch.manual_seed(1)
        ours = Counter(tuple(row) for row in decode(model, [prompt] * n, max_new_tokens=2, sampling=sampling,
                                                     stop_ids=set(), pad_id=pad))
    assert len(theirs) > 3  # a real distribution, not one sequence
    total_variation = sum(abs(theirs[k] - ours[k]) for k in set(theirs) | set(ours)) / (2 * n)
    assert total_variation < 0.06, (theirs.most_common(8), ours.most_common(8))
    assert set(ours) <= set(theirs) | {k for k in ours if ours[k] <= 3}  # nothing generate cannot produce


def test_draw_picks_each_token_with_its_probability_and_never_an_impossible_one(monkeypatch):
    probs = torch.tensor([0.0, 0.5, 0.0, 0.25, 0.125, 0.125, 0.0])
    n = 40_000
    torch.manual_seed(0)
    counts = torch.bincount(draw(probs.repeat(n, 1)), minlength=len(probs)).double()
    sigma = (n * probs * (1 - probs)).sqrt()
    assert ((counts - n * probs).abs() <= 4 * sigma + 1e-9).all(), counts  # zero-probability entries: exactly 0
    # Unnormalised rows are read as their proportions; a certain token is always drawn.
    assert draw(torch.tensor([[0.0, 3.0, 0.0, 1.0]] * 1000)).bincount(minlength=4)[[0, 2]].sum() == 0
    assert draw(torch.tensor([[0.0, 0.0, 1.0, 0.0]] * 50)).eq(2).all()
    # The ends of the uniform draw land on the first and the last possible entries, not on impossible ones.
    edges = torch.tensor([[0.0], [1.0 - 2.0**-53]], dtype=torch.float64)
    monkeypatch.setattr(torch, "rand", lambda *args, **kwargs: edges)
    assert draw(torch.tensor([[0.0, 0.2, 0.3, 0.5, 0.0]] * 2)).tolist() == [1, 3]
    monkeypatch.undo()
    with pytest.raises(RuntimeError, match="inf or nan"):
        draw(torch.tensor([[0.5, float("nan")]]))


def test_a_model_with_a_sliding_window_cache_is_left_to_generate(tmp_path):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, use_sliding_window=True, sliding_window=4,
                         max_window_layers=0, layer_types=["sliding_attention", "sliding_attention"])
    assert not supports(Qwen2ForCausalLM(config))
    config.layer_types, config.use_sliding_window = ["full_attention", "full_attention"], False
    assert supports(Qwen2ForCausalLM(config))


def test_reserved_cache_layer_grows_past_its_room_like_a_dynamic_layer():
    from transformers.cache_utils import DynamicLayer

    plain = DynamicLayer()
    first = torch.randn(2, 1, 3, 4)
    plain.update(first, first + 1)
    reserved = _reserved(plain, 1)
    steps = [torch.randn(2, 1, 1, 4) for _ in range(4)]  # three more than the room reserved
    for step in steps:
        keys, values = reserved.update(step, step * 2)
        plain.update(step, step * 2)
    assert torch.equal(keys, plain.keys) and torch.equal(values, plain.values)
    assert reserved.get_seq_length() == 7
    reserved.crop(-2)
    plain.crop(-2)
    assert torch.equal(reserved.keys, plain.keys) and reserved.get_seq_length() == 5


def test_dropping_rows_copies_only_the_filled_positions_into_the_same_buffers():
    from transformers.cache_utils import DynamicLayer

    plain = DynamicLayer()
    keys = torch.randn(4, 2, 3, 8)
    plain.update(keys, -keys)
    reserved = _reserved(plain, 5000)  # a long max_new_tokens: dropping rows must not copy the room
    buffer = reserved._key_buffer.data_ptr()
    reserved.batch_select_indices(torch.tensor([3, 1]))
    assert reserved._key_buffer.data_ptr() == buffer  # compacted in place: no new allocation
    assert torch.equal(reserved.keys, keys[[3, 1]]) and torch.equal(reserved.values, -keys[[3, 1]])
    reserved.update(torch.ones(2, 2, 1, 8), torch.ones(2, 2, 1, 8))
    assert reserved.keys.shape == (2, 2, 4, 8) and torch.equal(reserved.keys[:, :, 3], torch.ones(2, 2, 8))


def test_long_generations_past_the_reserved_room_match_generate(model, tokenizer):
    from r1cli.evaluation import decoding

    prompts = [chat(tokenizer, "What is 2 + 3?"), chat(tokenizer, "flat")]
    pad = tokenizer.pad_token_id
    expected = [reference(model, p, 2 * decoding._RESERVE + 5, set(), pad) for p in prompts]
    got = decode(model, prompts, max_new_tokens=2 * decoding._RESERVE + 5, sampling=Sampling(), stop_ids=set(),
                 pad_id=None)  # no pad id: a stopped row would be fed a stop token (here none stops)
    assert got == expected


def test_prompt_learning_adapters_are_left_to_generate(tiny_model_dir):
    peft = pytest.importorskip("peft")
    from r1cli.models import load_model

    prompt_tuned = peft.get_peft_model(load_model(tiny_model_dir),
                                       peft.PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4))
    assert not supports(prompt_tuned)


def test_decoding_never_builds_a_graph(model):
    captured = []
    real = model.forward

    def spy(*args, **kwargs):
        captured.append(torch.is_grad_enabled())
        return real(*args, **kwargs)

    model.forward = spy
    try:
        decode(model, [[5, 9, 17]], max_new_tokens=3, sampling=Sampling(), stop_ids=set(), pad_id=0)
    finally:
        del model.forward
    assert captured and not any(captured)


def test_bad_input_is_refused(model):
    with pytest.raises(ValueError, match="at least one token"):
        decode(model, [[1, 2], []], max_new_tokens=2, sampling=Sampling(), stop_ids=set(), pad_id=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        decode(model, [[1]], max_new_tokens=0, sampling=Sampling(), stop_ids=set(), pad_id=0)
    assert decode(model, [], max_new_tokens=2, sampling=Sampling(), stop_ids=set(), pad_id=0) == []


def test_prefill_groups_cover_every_prompt_once_and_pad_little():
    import random

    from r1cli.evaluation.decoding import _PREFILL_PADDING, _length_groups

    rng = random.Random(0)
    for _ in range(200):
        lengths = [rng.randint(1, 300) for _ in range(rng.randint(1, 40))]
        groups = _length_groups(lengths)
        assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
        for group in groups:
            real = sum(lengths[i] for i in group)
            padded = max(lengths[i] for i in group) * len(group)
            assert len(group) == 1 or padded - real <= _PREFILL_PADDING * real
