"""Which generation settings r1's decoding loop reproduces, resolved as ``generate`` resolves them
(r1cli.evaluation.sampling). What the loop does with them: test_evaluation_decoding.py."""

from __future__ import annotations

import pytest

from r1cli.evaluation.sampling import Sampling, sampling_from_config, stop_ids_from_config

pytest.importorskip("transformers")


def _non_default_values():
    """One valid non-default value for every GenerationConfig attribute (where one can be found)."""
    from transformers import GenerationConfig

    defaults = GenerationConfig().to_dict()
    defaults.update(GenerationConfig._get_default_generation_params())  # what generate() fills unset values with
    candidates = (2, 0.5, True, [[5]], [5], 3, "x")
    for name, default in sorted(defaults.items()):
        for value in candidates:
            if value == default or isinstance(value, bool) != isinstance(default, bool | None):
                continue
            try:
                config = GenerationConfig(**{name: value})
                config.validate(strict=True)
            except Exception:
                continue
            if getattr(config, name) == value:
                yield name, value
                break


@pytest.mark.filterwarnings("ignore::FutureWarning")  # a deprecated attribute among the fuzzed ones
def test_every_setting_the_loop_does_not_reproduce_goes_to_generate():
    from transformers import GenerationConfig

    from r1cli.evaluation.sampling import _UNDERSTOOD

    checked = 0
    for name, value in _non_default_values():
        result = sampling_from_config(GenerationConfig(**{name: value}))
        if name in _UNDERSTOOD:
            continue
        checked += 1
        assert result is None, f"{name}={value!r} changes generate() but the loop would run"
        # Set on the model's generation config instead, it still counts (generate() fills unset values from it).
        assert sampling_from_config(GenerationConfig(), GenerationConfig(**{name: value})) is None, name
    assert checked > 15  # the fuzz really covered the config


def test_settings_resolve_as_generate_resolves_them():
    from transformers import GenerationConfig

    model_config = GenerationConfig(do_sample=True, temperature=0.6, top_p=0.8, top_k=20, repetition_penalty=1.05)
    # Unset values come from the model's config ...
    assert sampling_from_config(GenerationConfig(), model_config) == Sampling(0.6, 20, 0.8, None, 1.05)
    # ... explicit ones win, even when they are transformers' defaults ...
    explicit = GenerationConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0)
    assert sampling_from_config(explicit, model_config) == Sampling(1.0, 0, 1.0, None, 1.0)
    # ... and what neither sets is transformers' global default (top_k 50).
    assert sampling_from_config(GenerationConfig(do_sample=True)) == Sampling(1.0, 50, 1.0, None, 1.0)
    assert sampling_from_config(GenerationConfig(do_sample=False, temperature=None), model_config) == Sampling(
        repetition_penalty=1.05)
    assert sampling_from_config(GenerationConfig(num_beams=2)) is None


def test_caches_that_change_tokens_or_placement_go_to_generate_and_stop_ids_resolve():
    from transformers import GenerationConfig

    assert sampling_from_config(GenerationConfig(cache_implementation="static")) == Sampling()
    for cache in ("quantized", "offloaded"):
        assert sampling_from_config(GenerationConfig(cache_implementation=cache)) is None, cache
    assert stop_ids_from_config(GenerationConfig(eos_token_id=[2, 7]), GenerationConfig(eos_token_id=9)) == {2, 7}
    assert stop_ids_from_config(GenerationConfig(), GenerationConfig(eos_token_id=9)) == {9}
    assert stop_ids_from_config(GenerationConfig()) == set()
