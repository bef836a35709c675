"""The training dashboard: a consumer of plain metric events, live (Rich) or as plain log lines.

Training never imports this module; the training command's glue feeds it from
a ``TrainerCallback`` on the main process only:

    from r1cli.ui.dashboard import RunInfo, make_reporter

    with make_reporter(live=console.is_terminal and not no_live) as reporter:
        reporter.start(RunInfo(run_name="gsm8k", model="Qwen/Qwen2.5-0.5B-Instruct", trainer="grpo",
                               total_steps=400, output_dir="runs/gsm8k",
                               reward_names=["accuracy", "format"], reward_weights=[1.0, 0.5]))
        reporter.update(step, logs)                        # every TRL log dict (train and eval)
        reporter.sample(step, prompt, completion, rewards)  # the latest sample completion
        reporter.note(message)                             # something said once, no metric (e.g. no eval accuracy)
        reporter.phase("loading model")                    # a long phase, named with its elapsed time (also before start)
        reporter.stopping("SIGINT")                        # first Ctrl-C: said at once (safe in a signal handler)
        reporter.end("interrupted — checkpoint saved")     # how the run ended, when not simply "done"
        reporter.stop(summary)                             # final frame + summary table (none when no step ran)

``Dashboard`` redraws a ``rich.live.Live`` region at most 4 times a second
from ``render_dashboard(state, width, height)`` (``dashboard_panels``), so a
resized terminal gets a new layout on the next refresh. ``PlainReporter``
prints one uncoloured line per update (CI, pipes, ``--no-live``, ``TERM=dumb``). Both keep a
``DashboardState`` and end with the same summary table; as context managers
they stop on any exit, exceptions and Ctrl-C included, and re-raise.

The state itself (``RunInfo``, ``DashboardState``) is in ``dashboard_state``.
Metric values may be missing, ``None`` or NaN; unknown keys are kept but never
shown. HF-style ``eval_*`` keys are read as ``eval/*``, and r1's reject
sampling names (``recovered``, ``seconds``, ``zero_spread_frac_*``) as the
dashboard's (``rescued``, ``time_s``, ``zero_spread_*``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from r1cli.ui.console import console as default_console
from r1cli.ui.dashboard_panels import fmt_duration, fmt_lr, fmt_num, fmt_si, phase_line, render_dashboard
from r1cli.ui.dashboard_state import DashboardState, RunInfo, Sample, clean_metrics

__all__ = ["Dashboard", "DashboardState", "PlainReporter", "RunInfo", "clean_metrics", "make_reporter", "render_dashboard",
           "summary_table"]

REFRESH_PER_SECOND = 4
INTERRUPTED_SAVED = "interrupted — checkpoint saved"
QUIT_UNSAVED = "quit — nothing saved"


def stopping_message(signal_name: str) -> str:
    """What the first Ctrl-C (or SIGTERM/SIGHUP) gets on screen at once."""
    said = "" if signal_name == "SIGINT" else f"{signal_name}: "
    return f"{said}stopping after this step and saving; Ctrl-C again quits without saving"

# --- plain lines -------------------------------------------------------------


def describe_run(info: RunInfo) -> str:
    """The first line a plain log prints."""
    parts = [f"r1 {info.trainer}", f"run {info.run_name}", f"model {info.model}"]
    if info.total_steps:
        parts.append(f"{info.total_steps} steps" + (f" or {info.minutes:g} min" if info.minutes else ""))
    if info.reward_names:
        weights = list(info.reward_weights) + [1.0] * len(info.reward_names)
        parts.append("rewards " + " + ".join(f"{n}*{w:g}" for n, w in zip(info.reward_names, weights)))
    if info.output_dir:
        parts.append(f"output {info.output_dir}")
    return " | ".join(parts)


def _fields(state: DashboardState, m: dict[str, float], *, sft_extras: bool) -> list[str]:
    """The ``name value`` pieces of one plain line, from the keys this update carries."""
    out = []
    if "accuracy" in m:
        out.append(f"accuracy {m['accuracy']:.2f}")
    if "loss" in m:
        out.append(f"loss {fmt_num(m['loss'], 4)}")
    if "reward" in m:
        out.append(f"reward {fmt_num(m['reward'])}" + (f" ±{m['reward_std']:.2f}" if "reward_std" in m else ""))
    if "trained/reward" in m:  # issue 13: with reject sampling, the batch the loss saw
        out.append(f"trained on {fmt_num(m['trained/reward'])}")
    means = [f"{n} {m[f'rewards/{n}/mean']:.2f}" for n in state.reward_names() if f"rewards/{n}/mean" in m]
    out += [" ".join(means)] if means else []
    if "kl" in m:
        out.append(f"kl {fmt_num(m['kl'], 4)}")
    if "mean_token_accuracy" in m:
        out.append(f"acc {m['mean_token_accuracy']:.2f}")
    if sft_extras and "learning_rate" in m:
        out.append(f"lr {fmt_lr(m['learning_rate'])}")
    length = m.get("completions/mean_length", m.get("completion_length"))
    if length is not None:
        out.append(f"len {length:.0f}")
    if "reject_sampling/groups_total" in m:
        rescued = m.get("reject_sampling/rescued")
        rejected = f"reject {m.get('reject_sampling/rejected_initial', 0):.0f}/{m['reject_sampling/groups_total']:.0f}"
        out.append(rejected + (f" rescued {rescued:.0f}" if rescued is not None else ""))
    if sft_extras and "num_tokens" in m and state.tokens_per_s:
        out.append(f"{fmt_si(state.tokens_per_s)} tok/s")
    if "train_runtime" in m:
        out.append(f"runtime {m['train_runtime']:.1f}s")
    if "train_samples_per_second" in m:
        out.append(f"{m['train_samples_per_second']:.2f} samples/s")
    return out


def plain_lines(state: DashboardState, step: int, clean: dict[str, float]) -> list[str]:
    """``step 3/40 | loss ... | 15.2s/step`` for the train keys, ``eval step 3 | ...`` for the eval ones."""
    train = {k: v for k, v in clean.items() if not k.startswith("eval/")}
    evals = {k.removeprefix("eval/"): v for k, v in clean.items() if k.startswith("eval/")}
    if "accuracy" in evals:  # said once: the accuracy reward's mean repeats it for a 0/1 reward
        evals.pop("rewards/accuracy/mean", None)
    lines = []
    body = _fields(state, train, sft_extras=state.trainer == "sft")
    if body:
        total = f"/{state.total_steps}" if state.total_steps else ""
        spp = state.sec_per_step
        lines.append(" | ".join([f"step {step}{total}", *body] + ([f"{spp:.1f}s/step"] if spp else [])))
    body = _fields(state, evals, sft_extras=False)
    if body:
        lines.append(" | ".join([f"eval step {step}", *body]))
    return lines


def sample_line(sample: Sample, width: int = 160) -> str:
    rewards = " ".join(f"{n} {'—' if v is None else f'{v:.2f}'}" for n, v in sample.rewards.items())
    text = " ".join(sample.completion.split())
    text = text if len(text) <= width else text[: width - 1] + "…"
    return " | ".join(p for p in (f"sample step {sample.step}", rewards, text) if p)


# --- summary table -----------------------------------------------------------


def fmt_value(value: object) -> str:
    """Any summary value: integers as such, other numbers to four significant digits, the rest as text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return "—"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4g}"


def _summary_rows(state: DashboardState) -> list[tuple[str, str]]:
    info, m = state.info, state.latest
    rows = [("run", f"{info.run_name} ({info.trainer}, {info.model})")] if info else []
    steps = f"{state.step}/{state.total_steps}" if state.total_steps else str(state.step)
    rows.append(("steps", steps if state.outcome in ("running", "done") else f"{steps} ({state.outcome})"))
    spp = state.sec_per_step
    resumed = f", {state.steps_run} since resuming at step {state.start_step}" if state.start_step else ""
    rows.append(("elapsed", fmt_duration(state.elapsed) + (f" ({spp:.1f}s/step{resumed})" if spp else "")))
    if state.tokens_per_s:
        rows.append(("tokens/s", fmt_si(state.tokens_per_s)))
    for label, key, decimals in [("loss", "loss", 4), ("token accuracy", "mean_token_accuracy", 3)]:
        if key in m:
            rows.append((label, fmt_num(m[key], decimals)))
    if "reward" in m:
        rows.append(("reward", fmt_num(m["reward"]) + (f" ±{fmt_num(m['reward_std'])}" if "reward_std" in m else "")))
    rows += [(f"  {n}", fmt_num(m[f"rewards/{n}/mean"])) for n in state.reward_names() if f"rewards/{n}/mean" in m]
    if state.best_eval_accuracy:
        best, best_step = state.best_eval_accuracy
        rows.append(("eval accuracy", f"{fmt_num(m['eval/accuracy'])} (best {fmt_num(best)} at step {best_step})"))
    if "eval/loss" in m:
        rows.append(("eval loss", fmt_num(m["eval/loss"], 4)))
    t = state.reject_totals
    if t.get("steps"):
        rows.append(("reject sampling", f"{t['rescued']:.0f} of {t['rejected_initial']:.0f} rejected groups rescued, "
                                        f"{t['extra_completions']:.0f} extra completions, {fmt_duration(t['time_s'])}"))
    rows += [("note", note) for note in state.notes]
    if info and info.output_dir:
        rows.append(("output", info.output_dir))
    return rows


def summary_table(state: DashboardState, summary: dict[str, float] | None = None, *, plain: bool = False) -> Table:
    """The end-of-run table; ``plain`` drops every style, for logs and pipes."""
    table = Table(title="run summary", title_justify="left", title_style="" if plain else "bold", show_header=False,
                  box=None, padding=(0, 2, 0, 0), pad_edge=False)
    table.add_column(style="" if plain else "dim", no_wrap=True)
    table.add_column(style="" if plain else "bold", overflow="fold")
    extra = [(str(k), fmt_value(v)) for k, v in (summary or {}).items()]
    for label, value in _summary_rows(state) + extra:
        table.add_row(Text(label), Text(value))  # Text, not str: values are data, never markup
    return table


# --- reporters ---------------------------------------------------------------


class _Reporter:
    """State, clock and the context-manager protocol shared by both reporters."""

    def __init__(self, console: Console | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.console = console if console is not None else default_console
        self.state = DashboardState()
        self._clock = clock
        self._created: float | None = None  # the first phase's time: plain lines count from it
        self._stopped = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None and self.state.outcome == "running":
            self.state.outcome = QUIT_UNSAVED if issubclass(exc_type, KeyboardInterrupt) else "failed"
        self.stop()
        return False  # never swallow the exception

    def end(self, outcome: str) -> None:
        """How the run ended (e.g. ``INTERRUPTED_SAVED``), before ``stop``; the context manager's guess otherwise."""
        self.state.outcome = outcome

    def stopping(self, signal_name: str) -> None:
        """The first signal: the run stops after this step. Called from a signal handler, so it takes no lock."""
        self.state.stopping = stopping_message(signal_name)

    def _summary_wanted(self) -> bool:
        """A summary only for a run that trained: none after a failure before training, none for zero steps."""
        return self.state.started_training and self.state.steps_run > 0

    def _finish(self) -> bool:
        """Mark the run ended; False when it already was (stop is idempotent)."""
        if self._stopped:
            return False
        self._stopped = True
        self.state.now = self._clock()
        if self.state.outcome == "running":
            self.state.outcome = "done"
        return True


class PlainReporter(_Reporter):
    """One uncoloured line per update, then the summary table: for logs, CI and pipes."""

    def _print(self, line: str) -> None:
        # A Text is never parsed as markup; soft_wrap keeps long lines whole for grep.
        self.console.print(Text(line), soft_wrap=True, highlight=False)

    def start(self, info: RunInfo) -> None:
        self.state.begin(info, self._clock())
        self._print(describe_run(info))

    def update(self, step: int, metrics: dict[str, float]) -> None:
        for line in plain_lines(self.state, step, self.state.record(step, metrics, self._clock())):
            self._print(line)

    def sample(self, step: int, prompt: str, completion: str, rewards: dict[str, float | None]) -> None:
        self.state.record_sample(step, prompt, completion, rewards)
        self._print(sample_line(self.state.sample))

    def note(self, message: str) -> None:
        if self.state.record_note(message):
            self._print(f"note: {message}")

    def phase(self, name: str) -> None:
        """Printed until the first logged step (later, every step would be a phase: the step lines say enough)."""
        now = self._clock()
        self._created = now if self._created is None else self._created
        if self.state.enter_phase(name, now) and self.state.step <= self.state.start_step:
            self._print(f"[{fmt_duration(now - self._created)}] {name}…")

    def stopping(self, signal_name: str) -> None:
        super().stopping(signal_name)
        self._print(self.state.stopping)

    def stop(self, summary: dict[str, float] | None = None) -> None:
        if not self._finish() or not self._summary_wanted():
            return
        with self.console.capture() as captured:
            self.console.print(summary_table(self.state, summary, plain=True), highlight=False)
        for line in captured.get().splitlines():
            self._print(line.rstrip())  # a table pads its cells; trailing blanks only clutter logs


class Dashboard(_Reporter):
    """The live dashboard: a Rich ``Live`` region redrawn from the state, then the summary table."""

    def __init__(self, console: Console | None = None, *, clock: Callable[[], float] = time.monotonic):
        super().__init__(console, clock=clock)
        self._lock = threading.Lock()  # update() runs in the training thread, frames in Live's refresh thread
        self._live: Live | None = None

    def start(self, info: RunInfo) -> None:
        with self._lock:
            self.state.begin(info, self._clock())
        self._show()

    def _show(self) -> None:
        if self._live is None:
            self._live = Live(get_renderable=self._frame, console=self.console, refresh_per_second=REFRESH_PER_SECOND,
                              transient=False)
            self._live.start(refresh=True)

    def phase(self, name: str) -> None:
        """Shown at once, also before ``start`` (loading the model and data): the region opens on the first phase."""
        with self._lock:
            self.state.enter_phase(name, self._clock())
        self._show()

    def update(self, step: int, metrics: dict[str, float]) -> None:
        with self._lock:
            self.state.record(step, metrics, self._clock())

    def sample(self, step: int, prompt: str, completion: str, rewards: dict[str, float | None]) -> None:
        with self._lock:
            self.state.record_sample(step, prompt, completion, rewards)

    def note(self, message: str) -> None:
        with self._lock:
            self.state.record_note(message)

    def stop(self, summary: dict[str, float] | None = None) -> None:
        with self._lock:
            if not self._finish():
                return
        if self._live is not None:
            self._live.stop()  # draws the final frame (it stays: transient=False) and shows the cursor again
        if self._summary_wanted():
            self.console.print(summary_table(self.state, summary))

    def _frame(self):
        width, height = self.console.size
        with self._lock:
            if not self._stopped:
                self.state.now = self._clock()
            try:
                if not self.state.started_training:  # loading: one line naming the phase and its time so far
                    return phase_line(self.state, width)
                # One line short of the terminal: the cursor's line, so a full frame never scrolls.
                return render_dashboard(self.state, width, height - 1)
            except Exception as exc:  # a drawing bug must not kill the refresh thread, let alone training
                return Text(f"dashboard error: {exc!r}", style="red")


def wants_live(live: bool | None, console: Console) -> bool:
    """``--live/--no-live``, by default on for a terminal; never where Rich cannot redraw (``TERM=dumb``/``unknown``)."""
    wanted = console.is_terminal if live is None else live
    return bool(wanted) and not console.is_dumb_terminal


def make_reporter(live: bool | None, console: Console | None = None) -> Dashboard | PlainReporter:
    """``Dashboard`` when the live dashboard is wanted and drawable (see :func:`wants_live`), else ``PlainReporter``."""
    console = console if console is not None else default_console
    return Dashboard(console) if wants_live(live, console) else PlainReporter(console)
