"""What r1 reads on a command line beyond Typer's defaults: habits users bring, and help without Python types.

- ``--debug`` anywhere on the line (``r1 grpo recipe.yaml --debug`` as well as ``r1 --debug grpo ...``);
- ``r1 grpo --config recipe.yaml`` (axolotl, TRL) is ``r1 grpo recipe.yaml``;
- ``r1 grpo recipe.yaml --learning_rate 2e-6`` (TRL's CLI takes a flag per config field) is
  ``--set learning_rate=2e-6`` for any key a recipe knows; another unknown flag gets Click's usual error;
- help shows ``N``, ``TEXT``, ``PATH``... or the option's own metavar, not ``<int range>`` or ``<list[str]>``.

``cli.py`` wires these classes (``typer.Typer(cls=R1Group)``, ``app.command(cls=RecipeCommand)``).
"""

from __future__ import annotations

from typer import _click as click  # Typer's own copy of Click: its classes are what Typer builds
from typer._click.exceptions import UsageError
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

_TYPE_LABELS = {"int": "N", "float": "NUMBER", "str": "TEXT", "path": "PATH", "file": "FILE", "directory": "DIR"}


def _plain_label(typed: str) -> str:
    """Typer's ``<int range>``, ``<list[str]>``, ``<path>`` as ``N``, ``TEXT...``, ``PATH``."""
    name = typed.strip("<>").removesuffix(" range").removesuffix("...")
    many = name.startswith("list[") or typed.endswith("...")
    name = name.removeprefix("list[").removesuffix("]")
    if "|" in name:  # choices: shown as they are
        label = name
    else:
        label = _TYPE_LABELS.get(name, name.upper())
    return label + ("..." if many else "")


def _plain_metavars(command: click.Command) -> None:
    """Help without Python types: an argument shows its name, an option its metavar or a plain word."""
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.display_type_rich = lambda ctx: None  # noqa: E731 -- the name (RECIPE, MODEL...) says it
        elif isinstance(param, TyperOption) and not (param.is_flag or param.count) and param.metavar is None:
            def plain(ctx, param=param):
                return _plain_label(str(TyperOption.display_type_rich(param, ctx)))

            param.display_type_rich = plain


class R1Group(TyperGroup):
    """The ``r1`` group: ``--debug`` anywhere before ``--``; plain metavars in every command's help."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        if "--debug" in args[1:end]:
            args = ["--debug"] + [a for i, a in enumerate(args) if not (a == "--debug" and i < end)]
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _plain_metavars(command)
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _plain_metavars(self)
        super().format_help(ctx, formatter)


def recipe_keys() -> set[str]:
    """Every key a recipe may set: r1's schema and TRL's config fields (read from its source, not imported)."""
    from r1cli.config.schema import R1_KEYS
    from r1cli.config.trl_fields import trl_fields

    return set(R1_KEYS) | set(trl_fields())


class RecipeCommand(TyperCommand):
    """``r1 sft``/``r1 grpo``: ``--config FILE`` is the recipe, ``--<recipe key> VALUE`` is ``--set key=VALUE``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self._translate(ctx, args))

    def _translate(self, ctx: click.Context, args: list[str]) -> list[str]:
        own = {opt for param in self.params for opt in (*param.opts, *param.secondary_opts)}
        own.update(ctx.help_option_names)
        out: list[str] = []
        keys: set[str] | None = None
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                out += args[i:]
                break
            name, eq, value = arg.partition("=")
            if not arg.startswith("--") or name in own:
                out.append(arg)
                i += 1
                continue
            if name in ("--config", "--recipe"):
                if not eq:
                    if i + 1 >= len(args):
                        raise UsageError(f"{name} needs a recipe file", ctx=ctx)
                    value, i = args[i + 1], i + 1
                out.append(value)  # the RECIPE argument
                i += 1
                continue
            keys = recipe_keys() if keys is None else keys
            key = name[2:].replace("-", "_")
            if key not in keys:
                out.append(arg)  # Click says "No such option", with its own suggestion
                i += 1
                continue
            if not eq:
                if i + 1 >= len(args) or args[i + 1].startswith("--"):
                    raise UsageError(f"{name} needs a value: {name} VALUE is --set {key}=VALUE", ctx=ctx)
                value, i = args[i + 1], i + 1
            out += ["--set", f"{key}={value}"]
            i += 1
        return out
