"""Feature settings: one default, one set of choices and one range per setting, shared by schema and trainer."""

from __future__ import annotations

import inspect
from dataclasses import fields

import pytest

from r1cli.config.features import RealtimeEvalSettings, RejectSamplingSettings, defaults_of
from r1cli.config.schema import R1_KEYS, default_of
from r1cli.errors import ConfigError

SETTINGS = (RejectSamplingSettings, RealtimeEvalSettings)


@pytest.mark.parametrize("settings", SETTINGS)
def test_one_default_per_setting_schema_settings_and_trainer(settings):
    pytest.importorskip("trl")
    from r1cli.training.grpo_trainer import EnhancedGRPOTrainer

    trainer_defaults = {name: p.default for name, p in inspect.signature(EnhancedGRPOTrainer.__init__).parameters.items()}
    for f in fields(settings):
        assert trainer_defaults[f.name] == f.default, f.name
        if f.name in R1_KEYS:  # eval_batch_size and friends are Python-only: no recipe key
            assert default_of(f.name) == f.default, f.name
            meta = R1_KEYS[f.name].metadata
            for limit in ("min", "max", "min_exclusive", "choices", "whole"):
                assert meta[limit] == f.metadata.get(limit, False if limit == "whole" else None), (f.name, limit)


def test_every_reject_sampling_and_eval_key_of_the_schema_has_a_setting():
    owned = {f.name for s in SETTINGS for f in fields(s)}
    for name, f in R1_KEYS.items():
        if f.metadata["group"] == "reject_sampling":
            assert name in owned, name
    assert {"eval_steps", "eval_on_start", "max_eval_samples", "eval_temperature"} <= owned
    assert "GRPO" in R1_KEYS["eval_steps"].metadata["help"] and "SFT" in R1_KEYS["eval_steps"].metadata["help"]


def test_modes_and_fallbacks_are_listed_once():
    from r1cli.training import reject_sampling

    assert reject_sampling.MODES == R1_KEYS["reject_sampling_mode"].metadata["choices"]
    assert reject_sampling.FALLBACKS == R1_KEYS["reject_sampling_fallback"].metadata["choices"]


@pytest.mark.parametrize("settings, values, message", [
    (RejectSamplingSettings, {"reject_sampling_mode": "bogus"}, "reject_sampling_mode must be one of resample, refill"),
    (RejectSamplingSettings, {"reject_sampling_fallback": "drop"}, "reject_sampling_fallback must be one of keep, mask"),
    (RejectSamplingSettings, {"max_resample_attempts": 0}, "max_resample_attempts must be >= 1"),
    (RejectSamplingSettings, {"max_resample_attempts": 17}, "max_resample_attempts must be <= 16"),
    (RealtimeEvalSettings, {"eval_steps": 0}, "eval_steps must be > 0"),
    (RealtimeEvalSettings, {"eval_steps": 2.5}, "eval_steps must be a whole number"),
    (RealtimeEvalSettings, {"max_eval_samples": 0}, "max_eval_samples must be >= 1"),
    (RealtimeEvalSettings, {"eval_temperature": -1.0}, "eval_temperature must be >= 0"),
])
def test_invalid_values_are_config_errors(settings, values, message):
    with pytest.raises(ConfigError, match=message):
        settings(**values)


def test_from_values_takes_the_recipe_keys_and_keeps_the_other_defaults():
    values = {"use_reject_sampling": True, "reject_sampling_mode": "refill", "eval_steps": 5, "learning_rate": 1e-5}
    reject = RejectSamplingSettings.from_values(values)
    realtime = RealtimeEvalSettings.from_values(values)
    assert reject.as_kwargs() == {**defaults_of(RejectSamplingSettings), "use_reject_sampling": True,
                                  "reject_sampling_mode": "refill"}
    assert realtime.eval_steps == 5 and realtime.eval_batch_size == 16 and realtime.enabled


def test_eval_interval_in_steps_or_as_a_fraction_of_the_run():
    assert RealtimeEvalSettings(eval_steps=10).interval(100) == 10
    assert RealtimeEvalSettings(eval_steps=0.25).interval(10) == 3  # ceil, as transformers rounds it
    assert RealtimeEvalSettings(eval_on_start=True).interval(10) is None
    assert not RealtimeEvalSettings().enabled


def test_the_settings_module_is_torch_free():
    import subprocess
    import sys

    code = "import sys, r1cli.config.features, r1cli.config.schema; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


MUTATIONS = (-1, 0, 0.5, 1, 2.5, 3, 17, float("nan"), float("inf"), "nonsense", "resample", "mask", True, None)


@pytest.mark.parametrize("settings", SETTINGS)
def test_validate_and_the_settings_agree_on_every_value(settings, tmp_path):
    """Whatever the trainer's settings refuse for a feature key, `r1 validate` refused first.

    (`r1 validate` may refuse more: a reject_sampling_threshold above what the rewards can reach.)"""
    from r1cli.config.validate import REWARD_LAYERS, validate_recipe

    base = "model_name_or_path: a/b\ndataset_name: c/d\nnum_generations: 4\nper_device_train_batch_size: 8\n" \
           "eval_dataset_name: e/f\n"
    disagreements = []
    for f in fields(settings):
        if f.name not in R1_KEYS:
            continue
        for value in MUTATIONS:
            path = tmp_path / "r.yaml"
            path.write_text(base, encoding="utf-8")
            report = validate_recipe(path, overrides=[f"{f.name}={value}"], layers=REWARD_LAYERS)
            by_validate = not any(e.key == f.name for e in report.errors)
            try:
                settings.from_values({f.name: report.values.get(f.name, value)})
                by_settings = True
            except ConfigError:
                by_settings = False
            if by_validate and not by_settings:
                disagreements.append((f.name, value, by_validate, by_settings))
    assert disagreements == []
