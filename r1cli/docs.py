"""Generated parts of the README: the command reference (from ``--help``) and the config reference (from the schema).

The README holds marked blocks (``<!-- r1:NAME:start -->`` ... ``<!-- r1:NAME:end -->``)
that this module fills. ``python -m r1cli.docs`` rewrites them (``make docs``);
a test fails when the README differs from what this module generates, so the
docs cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from r1cli.config.schema import GROUPS, R1_KEYS, default_of

HELP_WIDTH = 100


def command_reference() -> str:
    import click
    import typer

    from r1cli.cli import app

    group = typer.main.get_command(app)
    parts = []
    root = click.Context(group, info_name="r1", terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH)
    parts.append(f"```\n$ r1 --help\n{group.get_help(root)}\n```")
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        ctx = click.Context(command, info_name=name, parent=root, terminal_width=HELP_WIDTH,
                            max_content_width=HELP_WIDTH)
        parts.append(f"### `r1 {name}`\n\n```\n$ r1 {name} --help\n{command.get_help(ctx)}\n```")
    return "\n\n".join(parts)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def config_reference() -> str:
    lines = []
    for group, title in GROUPS.items():
        lines += [f"#### {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, f in R1_KEYS.items():
            if f.metadata["group"] != group:
                continue
            meta = f.metadata
            limits = []
            if meta["choices"]:
                limits.append("one of " + ", ".join(f"`{c}`" for c in meta["choices"]))
            if meta["min"] is not None:
                limits.append(f"{'>' if meta['min_exclusive'] else '>='} {meta['min']}")
            if meta["max"] is not None:
                limits.append(f"<= {meta['max']}")
            help_text = meta["help"] + (f" ({'; '.join(limits)})" if limits else "")
            lines.append(f"| `{name}` | `{_cell(f.type)}` | `{_cell(repr(default_of(name)))}` | {_cell(help_text)} |")
        lines.append("")
    return "\n".join(lines).rstrip()


def reward_reference() -> str:
    from r1cli.rewards.registry import available_rewards, get_reward_spec

    lines = ["| reward | range | parameters (`reward_kwargs`) | what it scores |", "|---|---|---|---|"]
    for name in available_rewards():
        spec = get_reward_spec(name)
        span = f"[{spec.range[0]:g}, {spec.range[1]:g}]" if spec.range else "?"
        params = "<br>".join(f"`{p.name}` = `{p.default!r}`: {_cell(p.help)}" for p in spec.params.values()) or "none"
        lines.append(f"| `{name}` | {span} | {params} | {_cell(spec.description)} |")
    return "\n".join(lines)


BLOCKS = {"commands": command_reference, "config": config_reference, "rewards": reward_reference}


def render(readme: str) -> str:
    """``readme`` with every marked block regenerated."""
    for name, build in BLOCKS.items():
        pattern = re.compile(rf"(<!-- r1:{name}:start -->\n)(?:.*?\n)?(<!-- r1:{name}:end -->)", re.S)
        if pattern.search(readme):
            readme = pattern.sub(lambda m: m.group(1) + build() + "\n" + m.group(2), readme)
    return readme


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    files = [a for a in args if a != "--check"]
    path = Path(files[0] if files else "README.md")
    current = path.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in args:
        if fresh != current:
            print(f"{path} is out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
