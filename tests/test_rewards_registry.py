"""The reward registry: names, specs, parameter validation, custom rewards, import cost."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

from r1cli.errors import RewardError
from r1cli.rewards import REWARD_FUNCS_REGISTRY, get_reward_calculator, register_reward
from r1cli.rewards.registry import ParamSpec, RewardSpec, available_rewards, check_reward_kwargs, get_reward_spec

BUILTINS = [
    "accuracy", "cosine", "format", "len_reward", "length", "mathematical_rigor", "reasoning_accuracy_reward",
    "reasoning_steps", "repetition_penalty", "soft_overlong_punishment", "tag_count", "think_format_reward",
]


def test_builtins_are_registered_sorted():
    names = available_rewards()
    assert names == sorted(names)
    assert set(BUILTINS) <= set(names)


def test_spec_describes_range_params_and_columns():
    spec = get_reward_spec("length")
    assert isinstance(spec, RewardSpec)
    assert spec.name == "length" and spec.range == (0.0, 1.0) and spec.source == "builtin"
    assert "\n" not in spec.description and spec.description
    assert list(spec.params) == ["target", "sigma"]
    sigma = spec.params["sigma"]
    assert isinstance(sigma, ParamSpec)
    assert (sigma.name, sigma.default, sigma.type, sigma.gt) == ("sigma", 150.0, float, 0)
    assert sigma.help
    assert get_reward_spec("accuracy").columns == ("solution",)
    assert get_reward_spec("format").columns == ()
    # TRL's own keyword arguments are never tunables.
    assert "completion_ids" not in spec.params and "log_metric" not in get_reward_spec("accuracy").params


def test_range_follows_parameters():
    spec = get_reward_spec("repetition_penalty")
    assert spec.range == (-1.0, 0.0)
    assert spec.range_for({"max_penalty": -0.5}) == (-0.5, 0.0)
    assert get_reward_spec("cosine").range_for({"max_value_correct": 2.0}) == (-1.0, 2.0)


def test_unknown_name_lists_valid_names_and_suggests():
    with pytest.raises(RewardError) as info:
        get_reward_spec("acuracy")
    assert "unknown reward 'acuracy'" in info.value.message
    assert "did you mean 'accuracy'?" in info.value.hint
    for name in BUILTINS:
        assert name in info.value.hint


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("length", {"sigmaa": 10}, "has no parameter 'sigmaa'"),
        ("length", {"sigma": 0}, "parameter 'sigma' must be > 0"),
        ("length", {"target": "300"}, "parameter 'target' must be a number"),
        ("length", {"target": True}, "parameter 'target' must be a number"),
        ("format", {"strict": 1}, "parameter 'strict' must be true or false"),
        ("reasoning_steps", {"saturate_at": 2.5}, "parameter 'saturate_at' must be an integer"),
        ("repetition_penalty", {"max_penalty": 0.5}, "parameter 'max_penalty' must be <= 0"),
        ("cosine", {"min_value_correct": 1.5}, "min_value_correct must not exceed max_value_correct"),
        ("soft_overlong_punishment", {"soft_punish_cache": 2000}, "soft_punish_cache must not exceed max_completion_len"),
    ],
)
def test_bad_parameters_are_named(name, kwargs, message):
    with pytest.raises(RewardError) as info:
        check_reward_kwargs(name, kwargs)
    assert message in info.value.message


def test_unknown_parameter_hint_lists_valid_ones():
    with pytest.raises(RewardError) as info:
        check_reward_kwargs("length", {"sigmaa": 10})
    assert "did you mean 'sigma'?" in info.value.hint
    assert "target (float, default 300.0)" in info.value.hint


def test_good_parameters_pass():
    check_reward_kwargs("length", {"target": 200, "sigma": 50.5})
    check_reward_kwargs("format", {"strict": True})
    check_reward_kwargs("cosine", {"max_len": 512, "max_value_wrong": -0.2})


def test_decorator_registers_like_a_builtin(clean_registry):
    @register_reward("test_shout", range=(0.0, 1.0), params={"word": "What to look for."})
    def shout(completions, *, word: str = "HEY", **kwargs):
        """Upper-case greetings score 1."""
        return [1.0 if word in c else 0.0 for c in completions]

    spec = get_reward_spec("test_shout")
    assert spec.func is shout and spec.source == "plugin" and spec.description == "Upper-case greetings score 1."
    assert spec.params["word"].help == "What to look for."
    assert "test_shout" in available_rewards()
    calc = get_reward_calculator(["test_shout"], reward_kwargs={"test_shout": {"word": "YO"}})
    assert calc.score(["YO there", "hey"]).per_reward["test_shout"] == [1.0, 0.0]


def test_duplicate_name_is_an_error(clean_registry):
    @register_reward("test_dup")
    def first(completions, **kwargs):
        return [0.0] * len(completions)

    def second(completions, **kwargs):
        return [1.0] * len(completions)

    with pytest.raises(RewardError, match="'test_dup' is already registered"):
        register_reward("test_dup")(second)
    with pytest.raises(RewardError, match="'accuracy' is already registered"):
        register_reward("accuracy")(second)
    assert get_reward_spec("test_dup").func is first
    register_reward("test_dup")(first)  # the same function again (a re-imported module) is fine


def test_dict_style_registration(clean_registry):
    def always_half(completions, **kwargs):
        return [0.5] * len(completions)

    REWARD_FUNCS_REGISTRY["test_half"] = always_half
    assert REWARD_FUNCS_REGISTRY["test_half"] is always_half
    assert get_reward_spec("test_half").range is None  # unknown for an undeclared custom reward
    assert get_reward_calculator(["test_half"]).score(["a"]).total == [0.5]


def test_documenting_a_missing_parameter_is_an_error(clean_registry):
    with pytest.raises(RewardError, match="documents parameters it does not take: nope"):

        @register_reward("test_doc", params={"nope": "not a parameter"})
        def reward(completions, **kwargs):
            return []


def test_file_path_reward_is_imported_only_when_named(tmp_path):
    marker = tmp_path / "imported"
    source = tmp_path / "my_rewards.py"
    source.write_text(textwrap.dedent(f"""
        from pathlib import Path
        Path({str(marker)!r}).write_text("yes")

        def short_is_good(completions, *, limit: int = 5, **kwargs):
            '''1.0 for completions shorter than limit.'''
            return [1.0 if len(c) < limit else 0.0 for c in completions]
    """))
    assert available_rewards()  # the registry is loaded and listed...
    assert not marker.exists()  # ...without importing code no recipe named
    ref = f"{source}:short_is_good"
    spec = get_reward_spec(ref)
    assert marker.exists()
    assert spec.name == "short_is_good" and spec.source == "path" and spec.range is None
    assert spec.params["limit"].default == 5
    assert get_reward_spec(ref) is spec  # the file runs once
    check_reward_kwargs(ref, {"limit": 3})
    with pytest.raises(RewardError, match="parameter 'limit' must be an integer"):
        check_reward_kwargs(ref, {"limit": "3"})
    calc = get_reward_calculator([ref], reward_kwargs={ref: {"limit": 3}})
    assert calc.names == ["short_is_good"]
    assert calc.score(["ab", "abcd"]).per_reward["short_is_good"] == [1.0, 0.0]


def test_module_path_reward_and_its_errors(tmp_path, monkeypatch):
    package = tmp_path / "plug_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rewards.py").write_text(textwrap.dedent("""
        def exact(completions, solution, **kwargs):
            return [1.0 if c == s else 0.0 for c, s in zip(completions, solution)]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = get_reward_spec("plug_pkg.rewards:exact")
    assert spec.columns == ("solution",)
    with pytest.raises(RewardError, match="has no function 'missing'") as info:
        get_reward_spec("plug_pkg.rewards:missing")
    assert "exact" in info.value.hint
    with pytest.raises(RewardError, match="cannot import reward module 'plug_pkg.nope'"):
        get_reward_spec("plug_pkg.nope:exact")
    with pytest.raises(RewardError, match="reward file not found"):
        get_reward_spec(str(tmp_path / "absent.py") + ":f")


def test_decorated_reward_in_a_file_keeps_its_name(tmp_path, clean_registry):
    source = tmp_path / "decorated.py"
    source.write_text(textwrap.dedent("""
        from r1cli.rewards import register_reward

        @register_reward("test_from_file", range=(0.0, 2.0))
        def reward(completions, **kwargs):
            return [2.0] * len(completions)
    """))
    spec = get_reward_spec(f"{source}:reward")
    assert spec.name == "test_from_file" and spec.range == (0.0, 2.0)
    assert get_reward_spec("test_from_file").func is spec.func


def test_entry_point_is_consulted_for_unknown_names(tmp_path, monkeypatch, clean_registry):
    (tmp_path / "ep_module.py").write_text("def brevity(completions, **kwargs):\n    return [0.25] * len(completions)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [EntryPoint(name="test_brevity", value="ep_module:brevity", group="r1cli.rewards")]
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group=None: [e for e in eps if e.group == group])
    spec = get_reward_spec("test_brevity")
    assert spec.source == "entry point" and spec.name == "test_brevity"
    assert "test_brevity" in available_rewards()


def test_bound_rewards_pickle_by_reference():
    calc = get_reward_calculator(["length", "length"], reward_kwargs={"length_2": {"target": 3, "sigma": 1}})
    clone = pickle.loads(pickle.dumps(calc.funcs[1]))
    assert clone.__name__ == "length_2"
    assert clone(["abc"]) == calc.funcs[1](["abc"]) == [1.0]


def test_importing_and_resolving_stays_light():
    # A fresh interpreter: this test process has long since imported sympy.
    code = textwrap.dedent(f"""
        import json, sys
        import r1cli.rewards
        from r1cli.rewards.registry import available_rewards, check_reward_kwargs, get_reward_spec
        for name in {BUILTINS!r}:
            spec = get_reward_spec(name)
            check_reward_kwargs(name, {{}})
            spec.range_for({{}})
        r1cli.rewards.get_reward_calculator({BUILTINS!r})
        heavy = ["torch", "transformers", "trl", "datasets", "sympy", "math_verify", "latex2sympy2_extended"]
        print(json.dumps([m for m in heavy if m in sys.modules]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
