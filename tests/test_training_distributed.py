"""r1cli.training.distributed: what only the main process does, in one process and (with accelerate faked) in several.

The rank and world size come from the launcher's environment (WORLD_SIZE/RANK, or the MPI names),
read by r1cli.training.launch; every test starts with all of them unset.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from datetime import timedelta

import pytest

from r1cli.errors import ConfigError, R1Error
from r1cli.training import distributed as D

LAUNCH_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
              "PMI_RANK", "PMI_SIZE", "MASTER_ADDR", "MASTER_PORT", "ACCELERATE_USE_CPU")


@pytest.fixture(autouse=True)
def no_launcher(monkeypatch):
    for name in LAUNCH_ENV:
        monkeypatch.delenv(name, raising=False)


def launched(monkeypatch, rank: int, world: int = 2, names=("RANK", "WORLD_SIZE")) -> None:
    monkeypatch.setenv(names[0], str(rank))
    monkeypatch.setenv(names[1], str(world))


class Broadcast:
    """accelerate.utils.broadcast_object_list as rank ``rank`` sees it, the main process having sent ``sent``."""

    def __init__(self, rank: int, sent: list | None = None):
        self.rank, self.sent, self.calls = rank, sent, []

    def __call__(self, objects: list, from_process: int = 0) -> list:
        self.calls.append((list(objects), from_process))
        if self.rank != from_process:
            objects[:] = self.sent
        return objects


def forbid_broadcast(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a single process must not broadcast")

    monkeypatch.setattr("accelerate.utils.broadcast_object_list", fail)


# --- distributed() ------------------------------------------------------------------------------


@pytest.mark.parametrize("env, expected", [
    ({}, False), ({"WORLD_SIZE": "1"}, False), ({"WORLD_SIZE": "2"}, True), ({"WORLD_SIZE": " 8 "}, True),
    ({"WORLD_SIZE": "two"}, False), ({"WORLD_SIZE": ""}, False), ({"OMPI_COMM_WORLD_SIZE": "4"}, True),
    ({"PMI_SIZE": "3"}, True), ({"WORLD_SIZE": "1", "OMPI_COMM_WORLD_SIZE": "4"}, False),
])
def test_distributed_reads_the_launcher_environment(monkeypatch, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert D.distributed() is expected


# --- one process: plain calls -------------------------------------------------------------------


def test_start_process_group_without_a_launcher_initialises_nothing(monkeypatch):
    import torch.distributed

    created = []
    monkeypatch.setattr("accelerate.PartialState", lambda *a, **k: created.append(k))
    assert D.start_process_group() is None
    assert D.start_process_group(ddp_timeout=60, ddp_backend="gloo") is None
    assert created == []
    assert not torch.distributed.is_initialized()


def test_on_main_process_single_process_is_a_plain_call(monkeypatch):
    forbid_broadcast(monkeypatch)
    calls = []
    assert D.on_main_process(lambda: calls.append(1) or "prepared") == "prepared"
    assert calls == [1]


@pytest.mark.parametrize("error", [ConfigError("run directory is in use", hint="pass --overwrite"), ValueError("bug")])
def test_on_main_process_single_process_raises_the_error_itself(monkeypatch, error):
    forbid_broadcast(monkeypatch)

    def fail():
        raise error

    with pytest.raises(type(error)) as info:
        D.on_main_process(fail)
    assert info.value is error
    assert not hasattr(error, "reported_by_main_process")


def test_as_main_process_says_single_process_returns_the_value(monkeypatch):
    forbid_broadcast(monkeypatch)
    value = {"stop": True}
    assert D.as_main_process_says(value) is value
    assert D.as_main_process_says(False) is False


def test_main_process_first_single_process_is_a_null_context(monkeypatch):
    monkeypatch.setattr("accelerate.PartialState", lambda *a, **k: pytest.fail("PartialState must not be created"))
    context = D.main_process_first()
    assert isinstance(context, contextlib.nullcontext)
    ran = []
    with context:
        ran.append(True)
    assert ran == [True]


# --- several processes, accelerate faked --------------------------------------------------------


def test_start_process_group_passes_trainingarguments_settings(monkeypatch):
    created = []
    monkeypatch.setattr("accelerate.PartialState", lambda *a, **k: created.append((a, k)))
    monkeypatch.setattr("r1cli.hardware.has_gpu", lambda: False)
    launched(monkeypatch, rank=1)
    D.start_process_group()
    D.start_process_group(ddp_timeout=60, ddp_backend="gloo")
    monkeypatch.setattr("r1cli.hardware.has_gpu", lambda: True)
    D.start_process_group(ddp_timeout=None, ddp_backend="nccl")
    assert created == [
        ((), {"cpu": True, "timeout": timedelta(seconds=1800)}),  # TrainingArguments' ddp_timeout default
        ((), {"cpu": True, "timeout": timedelta(seconds=60), "backend": "gloo"}),
        ((), {"cpu": False, "timeout": timedelta(seconds=1800), "backend": "nccl"}),
    ]


def test_on_main_process_main_rank_runs_and_broadcasts_the_result(monkeypatch):
    broadcast = Broadcast(rank=0)
    monkeypatch.setattr("accelerate.utils.broadcast_object_list", broadcast)
    launched(monkeypatch, rank=0)
    assert D.on_main_process(lambda: "checkpoint-40") == "checkpoint-40"
    assert broadcast.calls == [([("ok", "checkpoint-40")], 0)]


def test_on_main_process_other_rank_does_not_run_and_gets_the_result(monkeypatch):
    broadcast = Broadcast(rank=1, sent=[("ok", "checkpoint-40")])
    monkeypatch.setattr("accelerate.utils.broadcast_object_list", broadcast)
    launched(monkeypatch, rank=1, names=("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"))
    assert D.on_main_process(lambda: pytest.fail("only the main process runs it")) == "checkpoint-40"
    assert broadcast.calls == [([None], 0)]


def test_on_main_process_main_rank_refusal_reaches_every_rank(monkeypatch):
    error = ConfigError("runs/x is not empty", hint="pass --overwrite or choose another output_dir")

    def refuse():
        raise error

    main = Broadcast(rank=0)
    monkeypatch.setattr("accelerate.utils.broadcast_object_list", main)
    launched(monkeypatch, rank=0)
    with pytest.raises(ConfigError) as info:
        D.on_main_process(refuse)
    assert info.value is error and not hasattr(error, "reported_by_main_process")
    sent = main.calls[0][0]
    assert sent == [("error", (ConfigError, "runs/x is not empty", "pass --overwrite or choose another output_dir"))]

    # what another rank does with it: the same error class, message and hint, marked as reported
    monkeypatch.setattr("accelerate.utils.broadcast_object_list", Broadcast(rank=1, sent=sent))
    launched(monkeypatch, rank=1)
    with pytest.raises(ConfigError) as info:
        D.on_main_process(refuse)
    assert (info.value.message, info.value.hint) == ("runs/x is not empty", "pass --overwrite or choose another output_dir")
    assert info.value.reported_by_main_process is True
    assert str(info.value) == "runs/x is not empty (hint: pass --overwrite or choose another output_dir)"


def test_on_main_process_main_rank_bug_stops_the_others_too(monkeypatch):
    error = KeyError("output_dir")

    def crash():
        raise error

    main = Broadcast(rank=0)
    monkeypatch.setattr("accelerate.utils.broadcast_object_list", main)
    launched(monkeypatch, rank=0)
    with pytest.raises(KeyError) as info:
        D.on_main_process(crash)
    assert info.value is error  # the main process keeps the real traceback
    sent = main.calls[0][0]
    assert sent == [("error", (R1Error, "the main process failed: KeyError: 'output_dir'", None))]

    monkeypatch.setattr("accelerate.utils.broadcast_object_list", Broadcast(rank=1, sent=sent))
    launched(monkeypatch, rank=1)
    with pytest.raises(R1Error, match="the main process failed: KeyError") as info:
        D.on_main_process(crash)
    assert type(info.value) is R1Error and info.value.reported_by_main_process is True


def test_as_main_process_says_every_rank_follows_the_main_value(monkeypatch):
    broadcast = Broadcast(rank=1, sent=[True])
    monkeypatch.setattr("accelerate.utils.broadcast_object_list", broadcast)
    launched(monkeypatch, rank=1, world=4)
    assert D.as_main_process_says(False) is True
    assert broadcast.calls == [([False], 0)]


def test_main_process_first_uses_accelerate_when_launched(monkeypatch):
    sentinel = contextlib.nullcontext("accelerate's")

    class FakeState:
        def main_process_first(self):
            return sentinel

    monkeypatch.setattr("accelerate.PartialState", FakeState)
    launched(monkeypatch, rank=0)
    assert D.main_process_first() is sentinel


# --- replica_logging ----------------------------------------------------------------------------

LOGGERS = ("r1cli", "trl", "accelerate", "datasets", "transformers")


def logger_state():
    return {name: (logging.getLogger(name).level, logging.getLogger(name).propagate,
                   list(logging.getLogger(name).handlers)) for name in LOGGERS}


def replica():
    return D.replica_logging()


def test_replica_logging_errors_only_with_the_rank(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "3")
    with replica():
        logging.getLogger("r1cli.training.run").warning("a warning every rank would repeat")
        logging.getLogger("trl.trainer.grpo_trainer").info("info")
        logging.getLogger("r1cli.training.run").error("disk full")
        logging.getLogger("datasets.builder").error("cannot read shard")
        import transformers

        transformers.utils.logging.get_logger("transformers.trainer").error("nan loss")
    err = capsys.readouterr().err.splitlines()
    assert err == ["ERROR [rank 3] r1cli.training.run: disk full",
                   "ERROR [rank 3] datasets.builder: cannot read shard",
                   "ERROR [rank 3] transformers.trainer: nan loss"]


def test_replica_logging_without_a_launcher_says_rank_0(capsys):
    with replica():
        logging.getLogger("accelerate").critical("gone")
    assert capsys.readouterr().err == "CRITICAL [rank 0] accelerate: gone\n"


def test_replica_logging_silences_warnings_inside_only():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with replica():
            warnings.warn("inside", UserWarning)
        warnings.warn("outside", UserWarning)
    assert [str(w.message) for w in caught] == ["outside"]


def test_replica_logging_restores_every_logger(capsys):
    from transformers.utils import logging as hf_logging

    assert hf_logging.get_logger() is logging.getLogger("transformers")  # the library logger replaced below
    extra = logging.NullHandler()
    logging.getLogger("trl").addHandler(extra)
    try:
        before = logger_state()
        with replica():
            during = logger_state()
        assert logger_state() == before
        for name in LOGGERS:
            level, propagate, handlers = during[name]
            assert (level, propagate, len(handlers)) == (logging.ERROR, False, 1), name
            assert handlers[0].stream is sys.stderr
        assert extra in logging.getLogger("trl").handlers
    finally:
        logging.getLogger("trl").removeHandler(extra)


def test_replica_logging_restores_loggers_after_an_error():
    before = logger_state()
    with pytest.raises(RuntimeError, match="boom"):
        with replica():
            raise RuntimeError("boom")
    assert logger_state() == before
