"""r1cli's import graph, read from the source: no cycles, and imports only go down the layers.

The layering (mirrored in ``r1cli/__init__.py``'s docstring), lowest first:

    0  errors, paths, hardware, files, run_dir    facts and plumbing every layer may use
    1  rewards, data                              reward functions; datasets and prompts
    2  config, models                             recipes and their checks; model loading
    3  scoring, evaluation, training, reporting,  the engines behind the commands (doctor: torch-free rules
       doctor                                     over metric streams, used live by training)
    4  ui                                         drawing results and metric events
    5  commands, cli, docs, __main__              the Typer app and the README generator

A module may import its own package and anything in a lower layer. Imports
between two packages of the same layer are refused unless ``PEERS`` names the
pair (intended design, each with its reason); ``FORBIDDEN`` refuses a few
downward imports too (``ui`` draws plain metric events and never imports
``training``).

The graph counts every ``import`` and ``from ... import`` anywhere in a module:
inside functions and under ``TYPE_CHECKING`` too, since a function-level import
is still a dependency (it only runs later). ``from pkg import name`` where
``name`` is a submodule counts as importing that submodule. Dynamic imports
(``importlib.import_module`` of a lazy-attribute table) are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "r1cli"

LAYERS = (
    ("errors", "paths", "hardware", "files", "run_dir", "__init__"),
    ("rewards", "data"),
    ("config", "models"),
    ("scoring", "evaluation", "training", "reporting", "doctor"),
    ("ui",),
    ("commands", "cli", "docs", "__main__"),
)

# Same-layer imports the design intends: (importer, imported) -> why.
PEERS = {
    ("files", "errors"): "file writers raise r1's own OutputExistsError",
    ("run_dir", "errors"): "a run directory in use by another run is a user-facing error",
    ("run_dir", "files"): "the run's manifest is written atomically like every file r1 writes",
    ("config", "models"): "validation asks whether a built-in model is installed and, with --deep, loads the tokenizer",
    ("evaluation", "scoring"): "`r1 eval` scores completions exactly as `r1 score` does",
    ("training", "evaluation"): "real-time eval and dry-run generate with evaluation's batched generation",
    ("training", "doctor"): "the doctor's rules and keep-the-best run live in a training callback (doctor is torch-free)",
    ("reporting", "doctor"): "`r1 report` shows the doctor's findings on its HTML page and marks them on its plot",
    ("doctor", "training"): "the slow_phase rule reads the time/<phase> metrics whose names training/phases.py "
                            "owns (torch-free, imports nothing of r1)",
    ("cli", "commands"): "the Typer app wires one module per command",
    ("__main__", "cli"): "python -m r1cli runs the app",
    ("docs", "cli"): "the README's command reference is generated from the app's --help",
}

# Downward imports the design refuses: (importer, imported) -> why.
FORBIDDEN = {
    ("ui", "training"): "training and ui share only plain metric events; the dashboard never imports training",
}


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of r1cli (packages by their __init__.py)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """The r1cli modules ``name`` imports, each with the first line that does."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(target: str, line: int) -> None:
        if target in modules:
            found.setdefault(target, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            plain = False
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    add(f"{source}.{alias.name}", node.lineno)  # a submodule
                else:
                    plain = True
            if plain:
                add(source, node.lineno)
    found.pop(name, None)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def area(module: str) -> str:
    """The layer table's name for a module: its top-level package under r1cli (``__init__`` for r1cli itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module: str) -> int:
    for level, names in enumerate(LAYERS):
        if area(module) in names:
            return level
    raise AssertionError(f"{module} is in no layer: add {area(module)!r} to LAYERS in {__file__}")


def layering_violations(graph: dict[str, dict[str, int]]) -> list[str]:
    problems = []
    for importer, targets in sorted(graph.items()):
        for imported, line in sorted(targets.items()):
            pair = (area(importer), area(imported))
            if pair[0] == pair[1]:
                continue
            where = f"{importer} (line {line}) imports {imported}"
            if pair in FORBIDDEN:
                problems.append(f"{where}: {FORBIDDEN[pair]}")
            elif layer_of(imported) > layer_of(importer):
                problems.append(f"{where}: {pair[1]} is above {pair[0]}")
            elif layer_of(imported) == layer_of(importer) and pair not in PEERS:
                problems.append(f"{where}: {pair[0]} and {pair[1]} are peers, and PEERS does not allow it")
    return problems


def test_every_package_has_a_layer():
    for module in module_files():
        layer_of(module)


def test_no_import_cycles():
    graph = import_graph()
    found = cycles(graph)
    described = []
    for component in found:
        edges = [f"{a} -> {b} (line {graph[a][b]})" for a in component for b in component if b in graph[a]]
        described.append(" | ".join(edges))
    assert not found, "import cycles:\n" + "\n".join(described)


def test_imports_follow_the_layers():
    problems = layering_violations(import_graph())
    assert not problems, "imports against the layering:\n" + "\n".join(problems)


def test_the_init_docstring_mirrors_the_layers():
    import r1cli

    text = " ".join((r1cli.__doc__ or "").split())
    for names in LAYERS:
        shown = [name for name in names if name != "__init__"]
        assert ", ".join(shown) in text, f"r1cli/__init__.py's Architecture paragraph should list: {', '.join(shown)}"


def test_the_graph_reader_sees_every_kind_of_import(tmp_path):
    """Function-level, relative, aliased and submodule imports all count."""
    modules = {name: tmp_path / f"{name}.py" for name in ("r1cli.a", "r1cli.b", "r1cli.c", "r1cli.pkg", "r1cli.pkg.d",
                                                           "r1cli.pkg.e")}
    source = tmp_path / "a.py"
    source.write_text("import r1cli.b as bee\n\ndef f():\n    from r1cli import c\n\n"
                      "from r1cli.pkg import d, helper\n")
    assert imports_of("r1cli.a", source, modules) == {"r1cli.b": 1, "r1cli.c": 4, "r1cli.pkg.d": 6, "r1cli.pkg": 6}
    inner = tmp_path / "d.py"
    inner.write_text("from . import e\nfrom ..b import thing\n")
    assert imports_of("r1cli.pkg.d", inner, modules) == {"r1cli.pkg.e": 1, "r1cli.b": 2}
    assert cycles({"x": {"y": 1}, "y": {"z": 1}, "z": {"x": 1}, "w": {"x": 1}}) == [["x", "y", "z"]]


def test_the_layering_check_refuses_up_peer_and_forbidden_imports():
    graph = {"r1cli.config.validate": {"r1cli.training.launch": 3, "r1cli.models.catalog": 4, "r1cli.config.schema": 5},
             "r1cli.rewards.registry": {"r1cli.data.prompts": 7, "r1cli.errors": 8},
             "r1cli.ui.view": {"r1cli.training.memory": 9, "r1cli.scoring": 10},
             "r1cli.commands.grpo": {"r1cli.training.run": 11, "r1cli.ui.dashboard": 12}}
    problems = layering_violations(graph)
    assert [p.split(":")[0] for p in problems] == [
        "r1cli.config.validate (line 3) imports r1cli.training.launch",
        "r1cli.rewards.registry (line 7) imports r1cli.data.prompts",
        "r1cli.ui.view (line 9) imports r1cli.training.memory",
    ]
