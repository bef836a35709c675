"""Batched generation on the tiny model: batching invariance, seeds, progress (r1cli.evaluation.generation)."""

from __future__ import annotations

import pytest

from r1cli.evaluation.generation import Completion, _completion, generate

PROMPTS = [
    [{"role": "user", "content": "What is 2 + 3?"}],
    [{"role": "user", "content": "Solve for x: x * 4 = 12, and explain every step carefully."}],
    [{"role": "system", "content": "Reason."}, {"role": "user", "content": "Compute 7 - 2"}],
    [{"role": "user", "content": "flat"}],
    "The answer is",
]


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model_dir):
    from r1cli.models import load_model, load_tokenizer

    return load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)


def ids(results):
    return [[c.token_ids for c in samples] for samples in results]


def test_greedy_batched_output_equals_one_prompt_at_a_time(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    batched = generate(model, tokenizer, PROMPTS, max_new_tokens=10, batch_size=3)
    single = [generate(model, tokenizer, [p], max_new_tokens=10)[0] for p in PROMPTS]
    assert ids(batched) == ids(single)
    assert len({tuple(s[0].token_ids) for s in batched}) > 1  # not one degenerate output for every prompt
    first = batched[0][0]
    assert first.text == tokenizer.decode(first.token_ids, skip_special_tokens=True)
    assert 1 <= first.num_tokens <= 10


def test_sampling_is_reproducible_for_a_seed_and_leaves_the_global_rng_alone(model_and_tokenizer):
    import torch

    model, tokenizer = model_and_tokenizer
    state = torch.get_rng_state()
    kwargs = dict(max_new_tokens=8, temperature=1.0, num_samples=3, batch_size=2)
    first = generate(model, tokenizer, PROMPTS, seed=7, **kwargs)
    again = generate(model, tokenizer, PROMPTS, seed=7, **kwargs)
    other = generate(model, tokenizer, PROMPTS, seed=8, **kwargs)
    assert torch.equal(state, torch.get_rng_state())
    assert ids(first) == ids(again) and ids(first) != ids(other)
    assert [len(samples) for samples in first] == [3] * len(PROMPTS)
    assert len({tuple(c.token_ids) for c in first[1]}) > 1  # K samples of one prompt differ


def test_progress_reports_items_and_tokens(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    events = []
    results = generate(model, tokenizer, PROMPTS, max_new_tokens=5, batch_size=2, progress=events.append)
    assert [e.items_done for e in events] == [2, 4, 5] and all(e.items_total == 5 for e in events)
    assert events[-1].tokens_generated == sum(s[0].num_tokens for s in results)
    assert events[-1].tokens_per_s > 0 and events[-1].items_per_s > 0


def test_training_mode_is_restored(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    model.train()
    try:
        generate(model, tokenizer, PROMPTS[:1], max_new_tokens=2)
        assert model.training
    finally:
        model.eval()


def test_completion_stops_at_the_first_eos(model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    word = tokenizer("answer", add_special_tokens=False)["input_ids"]
    done = _completion(tokenizer, [*word, eos, pad, pad], {eos})
    assert done == Completion("answer", [*word, eos], True) and done.num_tokens == len(word) + 1
    cut = _completion(tokenizer, word, {eos})
    assert not cut.finished and cut.text == "answer"


def test_invalid_arguments(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    with pytest.raises(ValueError, match="temperature"):
        generate(model, tokenizer, PROMPTS, max_new_tokens=4, num_samples=2)
    with pytest.raises(ValueError):
        generate(model, tokenizer, PROMPTS, max_new_tokens=0)
    assert generate(model, tokenizer, [], max_new_tokens=4) == []
