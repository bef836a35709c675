"""Recipe templates and rendering commented recipes (what `r1 init` builds on).

Templates are plain YAML files under ``templates/`` whose first line is
``# description: ...``. In a checkout they are read from the repository; in
an installed wheel they are packaged as ``r1cli/templates`` (see
pyproject.toml), so `r1 init` works from a non-editable install.

:func:`render_recipe` writes the values as YAML grouped like the schema, each
key preceded by its one-line help, so a recipe documents itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from r1cli.config.schema import GROUPS, R1_KEYS
from r1cli.config.trl_fields import trl_fields
from r1cli.errors import UsageError

# Short template names -> file under templates/, in the order they are offered. The quickstart is two
# recipes run in turn: step 1 (SFT) first, since step 2 trains the model step 1 makes.
TEMPLATES = {
    "quickstart-sft": "quickstart/sft.yaml",
    "quickstart": "quickstart/grpo.yaml",
    "gsm8k": "gsm8k/grpo.yaml",
    "custom": "custom/grpo.yaml",
}
# The template the wizard offers first and `r1 init --yes` takes: runnable on its own, on a laptop.
DEFAULT_TEMPLATE = "quickstart-sft"


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    description: str

    def values(self) -> dict[str, Any]:
        return yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}

    def comments(self) -> dict[str, list[str]]:
        """The template's own comment lines, by the top-level key they stand above (its description excluded)."""
        found: dict[str, list[str]] = {}
        pending: list[str] = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                if "description:" not in line:
                    pending.append(line)
            elif line and not line[0].isspace() and ":" in line:
                if pending:
                    found[line.partition(":")[0].strip()] = pending
                pending = []
            elif not line.strip():
                pending = []
        return found


def templates_dir() -> Path:
    """``r1cli/templates`` inside an installed wheel, else ``templates/`` of the checkout."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def _description(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
    return first.partition("description:")[2].strip() if "description:" in first else ""


def list_templates() -> list[Template]:
    root = templates_dir()
    return [Template(name, root / rel, _description(root / rel)) for name, rel in TEMPLATES.items()]


def get_template(name: str) -> Template:
    for template in list_templates():
        if template.name == name:
            return template
    raise UsageError(f"unknown template {name!r}", hint=f"choose one of: {', '.join(TEMPLATES)} (see `r1 init --list`)")


def _help_for(name: str) -> str:
    if name in R1_KEYS:
        return R1_KEYS[name].metadata["help"]
    field = trl_fields().get(name)
    text = " ".join((field.help if field else "").split())
    first = text.split(". ")[0].rstrip(".")
    return (first[:117] + "...") if len(first) > 120 else first


def _group_of(name: str) -> str:
    return R1_KEYS[name].metadata["group"] if name in R1_KEYS else "trl"


def render_recipe(values: dict[str, Any], title: str, comments: dict[str, list[str]] | None = None) -> str:
    """Commented YAML: keys grouped like the schema, each with its help line above it, and the template's
    own comments (``comments``: key -> comment lines, from :meth:`Template.comments`) kept above their key."""
    order = list(GROUPS) + ["trl"]
    names = sorted(values, key=lambda n: (order.index(_group_of(n)), list(R1_KEYS).index(n) if n in R1_KEYS else 0, n))
    out = [f"# {title}", "# Every key is documented in the README's config reference; `r1 validate` checks this file.", ""]
    current = None
    for name in names:
        group = _group_of(name)
        if group != current:
            heading = GROUPS.get(group, "TRL trainer settings (passed to TRL unchanged)")
            out += ([""] if current else []) + [f"# --- {heading} ---"]
            current = group
        help_text = _help_for(name)
        if help_text:
            out.append(f"# {help_text}")
        out += (comments or {}).get(name, [])
        dumped = yaml.safe_dump({name: values[name]}, sort_keys=False, allow_unicode=True, width=100).rstrip()
        out.append(dumped)
    return "\n".join(out) + "\n"
