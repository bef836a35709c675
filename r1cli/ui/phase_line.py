"""Where a training step's time goes, as one dashboard line: ``step 58s: gen 71% · rew 3% · fwd/bwd 20% · opt 2%``.

Reads the ``time/<phase>`` and ``time/step`` metrics (seconds per step, see
``r1cli.training.phases``; the dashboard never imports training) from the latest
logged step: each phase as a share of the step's wall time, largest first,
phases under 1% left out, cut to the width. Unknown phases show by their own name.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

PREFIX, STEP = "time/", "time/step"
LABELS = {"generate": "gen", "rewards": "rew", "reject_sampling": "reject", "logprobs": "logp",
          "backward": "fwd/bwd", "optimizer": "opt", "eval": "eval", "save": "save"}


def phase_shares(latest: Mapping[str, float]) -> list[tuple[str, float]]:
    """(label, share of the step) for each phase of at least 1%, largest first; [] without a step time."""
    step = latest.get(STEP)
    if not step or step <= 0:
        return []
    shares = [(LABELS.get(key[len(PREFIX):], key[len(PREFIX):]), value / step)
              for key, value in latest.items() if key.startswith(PREFIX) and key != STEP and value is not None]
    return sorted([(label, share) for label, share in shares if share >= 0.01], key=lambda item: -item[1])


def _seconds(value: float) -> str:
    return f"{value:.2f}s" if value < 10 else f"{value:.0f}s"


def step_phases_line(latest: Mapping[str, float], width: int) -> list[Text]:
    """The line (a list of one, or none before the first timed step), cut to ``width`` cells."""
    shares = phase_shares(latest)
    if not shares:
        return []
    line = Text.assemble(("step ", "dim"), (_seconds(latest[STEP]), "bold"), (": ", "dim"))
    for i, (label, share) in enumerate(shares):
        part = Text.assemble((" · " if i else "", "dim"), (f"{label} ", "dim"), (f"{share:.0%}", "bold"))
        if line.cell_len + part.cell_len > width:  # whole phases only: the largest are first
            break
        line.append_text(part)
    line.truncate(max(width, 1), overflow="ellipsis")
    line.no_wrap = True
    return [line]
