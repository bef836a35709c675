"""r1cli.config.trl_fields: TRL's config fields read from the installed source with ast, cached per version."""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import textwrap
from pathlib import Path

import pytest

from r1cli.config import trl_fields as tf
from r1cli.config.trl_fields import TrlField, trl_fields

_parse_once = functools.cache(tf._parse_sources)  # the real parse, done once for the whole module (0.3 s each)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> dict[str, TrlField]:
    """What trl_fields() reads from the installed TRL and transformers, built once into an empty cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("R1_CACHE", str(tmp_path_factory.mktemp("r1-cache")))
        mp.setattr(tf, "_parse_sources", _parse_once)
        trl_fields.cache_clear()
        try:
            return trl_fields()
        finally:
            trl_fields.cache_clear()


class Parses:
    calls = 0


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty $R1_CACHE, no catalogue remembered in this process, and a count of source parses."""
    root = tmp_path / "cache"
    monkeypatch.setenv("R1_CACHE", str(root))
    Parses.calls = 0

    def parse():
        Parses.calls += 1
        return _parse_once()

    monkeypatch.setattr(tf, "_parse_sources", parse)
    trl_fields.cache_clear()
    yield root
    trl_fields.cache_clear()


def cache_file(root: Path) -> Path:
    files = list(root.glob("trl-fields-*.json"))
    assert len(files) == 1, files
    return files[0]


# --- what is read from the installed source -----------------------------------------------------


def test_owners_of_well_known_fields(catalogue):
    fields = catalogue
    assert fields["num_generations"].owners == ("grpo",)
    assert fields["beta"].owners == ("grpo",)
    assert fields["learning_rate"].owners == ("grpo", "sft")  # TrainingArguments, through _BaseConfig
    assert fields["packing"].owners == ("sft",)
    assert fields["lora_r"].owners == ("model",)
    assert fields["model_name_or_path"].owners == ("model",)
    assert fields["dataset_name"].owners == ("script",)
    assert not any(name.startswith("_") for name in fields)
    for name, field in fields.items():
        assert isinstance(field, TrlField) and field.name == name
        assert set(field.owners) <= {"grpo", "sft", "model", "script"} and field.owners


def test_grpo_default_and_help_win_over_sft(catalogue):
    from trl.trainer.sft_config import SFTConfig

    lr = catalogue["learning_rate"]
    sft_default = next(f.default for f in dataclasses.fields(SFTConfig) if f.name == "learning_rate")
    assert lr.default == 1e-6 != sft_default  # GRPOConfig's value, though SFTConfig sets its own
    assert lr.type == "float"


def test_choices_come_from_field_metadata(catalogue):
    fields = catalogue
    assert fields["dtype"].choices == ("auto", "bfloat16", "float16", "float32")
    assert fields["dtype"].type == "str | None" and fields["dtype"].default == "float32"
    assert fields["truncation_mode"].choices == ("keep_end", "keep_start")
    assert "gloo" in fields["ddp_backend"].choices and "nccl" in fields["ddp_backend"].choices
    # loss_type lists its values only in its help text in this TRL, so it has no choices to check against.
    assert fields["loss_type"].choices is None
    assert "'dapo'" in fields["loss_type"].help and fields["loss_type"].default == "dapo"


def _real_default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return "<missing>"


def test_ast_reading_agrees_with_the_real_dataclasses(catalogue):
    from trl.scripts.utils import ScriptArguments
    from trl.trainer.grpo_config import GRPOConfig
    from trl.trainer.model_config import ModelConfig
    from trl.trainer.sft_config import SFTConfig

    fields = catalogue
    for owner, cls in (("grpo", GRPOConfig), ("sft", SFTConfig), ("model", ModelConfig), ("script", ScriptArguments)):
        real = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
        assert real == {name for name, field in fields.items() if owner in field.owners}, owner

    grpo = {f.name: f for f in dataclasses.fields(GRPOConfig)}
    for name, annotation in (("num_generations", "int | None"), ("beta", "float"), ("temperature", "float"),
                             ("max_completion_length", "int | None"), ("use_vllm", "bool"), ("seed", "int"),
                             ("reward_weights", "list[float] | None"), ("loss_type", "str")):
        field, real = fields[name], grpo[name]
        assert field.default == _real_default(real), name
        assert field.help == real.metadata.get("help", ""), name
        assert field.type == annotation
        assert field.type == (real.type.__name__ if isinstance(real.type, type) else str(real.type)), name

    model = {f.name: f for f in dataclasses.fields(ModelConfig)}
    for name in ("dtype", "lora_r", "lora_alpha", "use_peft", "lora_target_modules", "bnb_4bit_quant_type"):
        assert fields[name].default == _real_default(model[name]), name
        real_choices = model[name].metadata.get("choices")
        assert fields[name].choices == (tuple(real_choices) if real_choices else None), name


def test_every_literal_default_matches_the_dataclass(catalogue):
    from trl.trainer.grpo_config import GRPOConfig

    fields = catalogue
    checked = 0
    for real in dataclasses.fields(GRPOConfig):
        if real.name.startswith("_") or fields[real.name].default == "<dynamic>":
            continue
        assert fields[real.name].default == _real_default(real), real.name
        checked += 1
    assert checked > 150  # nearly every field has a literal default


def test_choices_agree_with_the_dataclass_metadata(catalogue):
    from trl.trainer.grpo_config import GRPOConfig

    fields = catalogue
    for real in dataclasses.fields(GRPOConfig):
        if "choices" in real.metadata:
            assert fields[real.name].choices == tuple(real.metadata["choices"]), real.name


def test_reading_does_not_import_trl_or_transformers(cache):
    import subprocess

    code = ("import sys; from r1cli.config.trl_fields import trl_fields; f = trl_fields(); "
            "assert 'num_generations' in f; print(sorted(m for m in ('trl', 'transformers', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "R1_CACHE": str(cache)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --- parsing rules, on a package written here ---------------------------------------------------

FAKE_GRPO = '''
from dataclasses import dataclass, field
from .base_config import _BaseConfig

@dataclass
class GRPOConfig(_BaseConfig):
    num_generations: int | None = field(default=8, metadata={"help": "Completions per prompt."})
    learning_rate: float = field(default=1e-6, metadata={"help": "GRPO's rate."})
    loss_type: str = field(default="dapo", metadata={"help": "Loss.", "choices": ["grpo", "dapo"]})
    reward_weights: list[float] | None = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    made: list = field(default_factory=lambda: [1])
    plain: int = 3
    computed: str = field(default=str(4))
    _private: int = 1
'''
FAKE_BASE = '''
from dataclasses import dataclass, field
from transformers import TrainingArguments

@dataclass
class _BaseConfig(TrainingArguments):
    learning_rate: float = field(default=2e-5, metadata={"help": "Base rate."})
    logging_steps: float = 10
'''
FAKE_SFT = '''
from dataclasses import dataclass, field
from .base_config import _BaseConfig

@dataclass
class SFTConfig(_BaseConfig):
    packing: bool = False
'''
FAKE_TRAINING_ARGS = '''
from dataclasses import dataclass, field

@dataclass
class TrainingArguments:
    output_dir: str | None = field(default=None, metadata={"help": "Where to write."})
    learning_rate: float = field(default=5e-5, metadata={"help": "AdamW rate."})
    seed: int = 42
'''


@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    trl = tmp_path / "trl"
    transformers = tmp_path / "transformers"
    for path, text in ((trl / "trainer" / "grpo_config.py", FAKE_GRPO), (trl / "trainer" / "base_config.py", FAKE_BASE),
                       (trl / "trainer" / "sft_config.py", FAKE_SFT), (transformers / "training_args.py", FAKE_TRAINING_ARGS)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.setattr(tf, "_package_dir", lambda name: {"trl": trl, "transformers": transformers}.get(name))


def test_parse_sources_follows_bases_and_reads_defaults(fake_packages):
    fields = tf._parse_sources()
    assert fields["num_generations"] == TrlField("num_generations", "int | None", 8, "Completions per prompt.", None, ("grpo",))
    assert fields["loss_type"].choices == ("grpo", "dapo")
    assert fields["reward_weights"].default == [] and fields["reward_weights"].type == "list[float] | None"
    assert fields["extra"].default == {}
    assert fields["made"].default == "<dynamic>"  # a lambda factory
    assert fields["computed"].default == "<dynamic>"  # not a literal
    assert fields["plain"].default == 3 and fields["plain"].help == ""
    assert "_private" not in fields
    # A subclass redefines a field; GRPO's version wins over SFT's inherited one.
    assert fields["learning_rate"].default == 1e-6 and fields["learning_rate"].help == "GRPO's rate."
    assert fields["learning_rate"].owners == ("grpo", "sft")
    # Inherited through two levels: GRPOConfig -> _BaseConfig -> TrainingArguments.
    assert fields["seed"].owners == ("grpo", "sft") and fields["seed"].default == 42
    assert fields["output_dir"].help == "Where to write."
    assert fields["logging_steps"].default == 10
    assert fields["packing"].owners == ("sft",)


def test_unrecognised_source_layout_falls_back_to_importing(cache, monkeypatch):
    monkeypatch.setattr(tf, "_parse_sources", lambda: {})
    sentinel = {"num_generations": TrlField("num_generations", "int", 8, "", None, ("grpo",))}
    monkeypatch.setattr(tf, "_import_fields", lambda: sentinel)
    assert trl_fields() is sentinel
    assert json.loads(cache_file(cache).read_text())["num_generations"]["default"] == 8


# --- the cache ----------------------------------------------------------------------------------


def test_cache_is_written_per_version_pair(cache):
    import importlib.metadata

    fields = trl_fields()
    assert Parses.calls == 1
    path = cache_file(cache)
    trl_v, tf_v = importlib.metadata.version("trl"), importlib.metadata.version("transformers")
    assert path.name == f"trl-fields-trl-{trl_v}_transformers-{tf_v}_v{tf._CACHE_FORMAT}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == set(fields)
    assert data["learning_rate"]["owners"] == ["grpo", "sft"]
    assert data["dtype"]["choices"] == ["auto", "bfloat16", "float16", "float32"]
    assert "name" not in data["learning_rate"]
    assert not list(cache.glob("*.tmp"))  # written through a temporary file, then renamed


def test_cache_is_read_back(cache):
    trl_fields()
    path = cache_file(cache)
    data = json.loads(path.read_text())
    data["learning_rate"]["help"] = "read from the cache"
    path.write_text(json.dumps(data))
    trl_fields.cache_clear()
    fields = trl_fields()
    assert Parses.calls == 1  # not parsed again
    assert fields["learning_rate"].help == "read from the cache"
    assert fields["learning_rate"].owners == ("grpo", "sft")  # tuples again, as when parsed
    assert fields["dtype"].choices == ("auto", "bfloat16", "float16", "float32")
    assert fields["num_generations"].choices is None


def test_another_version_gets_its_own_cache_file(cache, monkeypatch):
    trl_fields()
    monkeypatch.setattr(tf, "_version", lambda name: "0.0.1" if name == "trl" else "9.9.9")
    trl_fields.cache_clear()
    trl_fields()
    assert Parses.calls == 2
    names = sorted(p.name for p in cache.glob("trl-fields-*.json"))
    assert len(names) == 2
    assert f"trl-fields-trl-0.0.1_transformers-9.9.9_v{tf._CACHE_FORMAT}.json" in names


@pytest.mark.parametrize("corrupt", ["{not json", "", '{"learning_rate": {"type": "float"}}',
                                     '{"learning_rate": {"type": "float", "default": 1, "help": "", '
                                     '"choices": null, "owners": ["grpo"], "surprise": 1}}'])
def test_corrupt_cache_is_rebuilt(cache, corrupt):
    trl_fields()
    path = cache_file(cache)
    path.write_text(corrupt)
    trl_fields.cache_clear()
    fields = trl_fields()
    assert Parses.calls == 2  # parsed again
    assert "num_generations" in fields and fields["learning_rate"].owners == ("grpo", "sft")
    assert set(json.loads(path.read_text())) == set(fields)  # rewritten whole


@pytest.mark.parametrize("corrupt", ["[]", "null"])
def test_cache_with_json_of_the_wrong_shape_is_rebuilt(cache, corrupt):
    trl_fields()
    cache_file(cache).write_text(corrupt)
    trl_fields.cache_clear()
    assert "num_generations" in trl_fields()


def test_unwritable_cache_only_costs_speed(cache, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("R1_CACHE", str(blocker))
    assert "num_generations" in trl_fields()
    assert blocker.read_text().startswith("a file")
    assert not list(tmp_path.rglob("*.tmp"))
