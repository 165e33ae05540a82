"""The package's arrows point one way: each part imports only from the parts below it.

Layers, top to bottom: the command line; the library's entry point (fitbp.fit, Fit); views; degree selection; fitting;
engines that build triangles; sources that read points; the backprop engine.
errors.py is beneath them all.  Within a layer, modules may import each other
only without a cycle.  Checked on the source, imports inside functions included,
so a lazy import cannot hide an upward arrow.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fitbp"
LAYERS = ["cli", "library", "views", "selection", "fitting", "engines", "sources", "backprop", "errors"]
"""Top to bottom.  __init__ and __main__ are the doors in, above everything."""
BESIDE = {"sklearn": "library", "comparison": "selection"}
"""Modules that are not a layer of their own: fitbp.sklearn adapts the library's entry point for
scikit-learn, so it stands where fitbp.library stands; fitbp.comparison chooses among families of
curves as fitbp.selection chooses a degree (and uses it), so it stands there."""


def layer_of(module):
    """'fitbp.fitting.model' -> 'fitting'; the package root's __version__ counts as the bottom."""
    parts = module.split(".")
    if parts == ["fitbp"]:
        return "errors"
    return BESIDE.get(parts[1], parts[1])


def modules():
    """Every module but the doors in; a folder's __init__.py is the module of the folder's name (fitbp.cli's
    makes the app and registers the commands)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        if name in ("fitbp", "fitbp.__main__"):
            continue
        yield name, path


def is_module(name):
    """Whether fitbp.a.b is a module of the package: a file a/b.py or a folder a/b/ with its __init__.py."""
    path = PACKAGE.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports(path):
    """The fitbp modules (or fitbp.pkg + names) that a file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "fitbp":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if is_module(candidate) else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "fitbp")
    return found


ALL = dict(modules())


def test_the_layers_are_the_folders():
    assert {layer_of(name) for name in ALL} == set(LAYERS)


@pytest.mark.parametrize("name", sorted(ALL))
def test_imports_point_down(name):
    mine = LAYERS.index(layer_of(name))
    for target in imports(ALL[name]):
        theirs = LAYERS.index(layer_of(target))
        assert theirs >= mine, f"{name} imports {target}, a layer above it"


def test_no_cycle_within_a_layer():
    graph = {name: {t for t in imports(path) if t in ALL and layer_of(t) == layer_of(name)}
             for name, path in ALL.items()}
    state = {}

    def visit(node, trail):
        if state.get(node) == "open":
            raise AssertionError("import cycle: " + " -> ".join(trail + [node]))
        if state.get(node) == "done":
            return
        state[node] = "open"
        for target in graph[node]:
            visit(target, trail + [node])
        state[node] = "done"

    for name in graph:
        visit(name, [])


def test_the_backprop_engine_knows_no_polynomial_and_no_file():
    for name, path in ALL.items():
        if layer_of(name) == "backprop":
            assert not imports(path) - {"fitbp.errors"}, name
            assert "open(" not in path.read_text(), name
