"""Where a run's output goes: transformers, TRL, datasets and r1 log to training.log, library progress
bars and import-time noise stay off the terminal (the dashboard owns it)."""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path
from typing import Callable, Iterator


# What transformers printed when its integrations were first imported (said once, into training.log).
_IMPORT_PRINTS: list[str] = []


@contextlib.contextmanager
def log_to_file(path: Path, debug: bool = False) -> Iterator[None]:
    """Send transformers/TRL/r1 logging and Python warnings to ``path`` instead of the terminal."""
    import transformers

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = logging.DEBUG if debug else logging.INFO
    hf_logger = transformers.utils.logging.get_logger()  # the "transformers" root logger
    loggers = [logging.getLogger(name) for name in ("r1cli", "trl", "accelerate", "datasets", "py.warnings")] + [hf_logger]
    saved = [(lg, lg.level, lg.propagate, list(lg.handlers)) for lg in loggers]
    for lg in loggers:
        lg.handlers = [handler]
        lg.setLevel(level)
        lg.propagate = False
    logging.captureWarnings(True)
    bars = quiet_progress_bars(handler)  # issue 16: tqdm bars and import-time prints stay off the dashboard
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        bars()
        logging.captureWarnings(False)
        for lg, lvl, prop, handlers in saved:
            lg.handlers, lg.propagate = handlers, prop
            lg.setLevel(lvl)
        handler.close()


def quiet_imports() -> list[str]:
    """Import transformers' integrations with their import-time prints caught; return what they printed, once."""
    import io
    import sys

    if "transformers.integrations.integration_utils" not in sys.modules:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            import transformers.integrations.integration_utils  # noqa: F401
        _IMPORT_PRINTS.extend(printed.getvalue().splitlines())
    said = list(_IMPORT_PRINTS)
    _IMPORT_PRINTS.clear()
    return said


def quiet_progress_bars(handler: logging.Handler) -> Callable[[], None]:
    """Switch off transformers', datasets' and the hub's tqdm bars (r1 names the phases instead); return the undo.

    transformers prints ``[INFO] Running in WANDB offline mode`` when its integrations are first imported
    (with WANDB_MODE=offline, whatever ``report_to`` says): that import happens here, its print going to the log.
    """
    import transformers

    undo = []
    if transformers.utils.logging.is_progress_bar_enabled():
        transformers.utils.logging.disable_progress_bar()
        undo.append(transformers.utils.logging.enable_progress_bar)
    with contextlib.suppress(ImportError):
        import datasets

        if datasets.is_progress_bar_enabled():
            datasets.disable_progress_bars()
            undo.append(datasets.enable_progress_bars)
    with contextlib.suppress(ImportError):
        from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

        if not are_progress_bars_disabled():
            disable_progress_bars()
            undo.append(enable_progress_bars)
    for line in quiet_imports():
        handler.emit(logging.LogRecord("transformers", logging.INFO, __file__, 0, line, None, None))

    def restore() -> None:
        for enable in undo:
            enable()

    return restore
