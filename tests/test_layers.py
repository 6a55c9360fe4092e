"""The package's layers point one way: no import circle between its modules (function-level
imports included), and no module imports from a layer above its own."""
import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Bottom up: a module may import from its own layer or the ones below, at module level or
# inside a function. The root modules __init__, _lazy and commands (the console scripts, which
# dispatch to every command) are the package's front door and stand outside the layers.
LAYERS = [
    {"errors", "paths", "upstream", "seeds"},
    {"data", "models", "factors", "schema", "metrics"},
    {"viz"},
    {"lit"},
    {"run"},
    {"report"},
    {"sweeps", "fused"},
    {"cli"},
    {"study"},
]
FRONT_DOOR = {"ablab", "ablab._lazy", "ablab.commands"}


def modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "ablab").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict) -> set[str]:
    """The package's modules `name` imports anywhere in its file (lazy imports too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{a.name}" for a in node.names] + [module]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `from pkg import name`: the module, or pkg itself
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("ablab"):
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    edges = {name: imports_of(name, path, known) for name, path in known.items()}
    # `from ablab.x import y` where y is a submodule names both x and x.y: keep the submodule only.
    for name, targets in edges.items():
        edges[name] = {t for t in targets if not any(o.startswith(t + ".") for o in targets)}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer_of(module: str) -> int:
    top = module.split(".")[1]
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def test_no_import_circle():
    assert cycles(graph()) == []


def test_imports_point_down():
    upward = [f"{a} -> {b}" for a, targets in graph().items() if a not in FRONT_DOOR
              for b in targets if b not in FRONT_DOOR and layer_of(b) > layer_of(a)]
    assert upward == []


def test_every_subpackage_has_a_layer():
    tops = {name.split(".")[1] for name in modules() if name not in FRONT_DOOR}
    assert tops <= set().union(*LAYERS), tops - set().union(*LAYERS)


def test_the_check_finds_a_circle(tmp_path):
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    with pytest.raises(StopIteration):
        layer_of("ablab.nowhere.x")


def private_names_crossing(name: str, path: Path, known: dict) -> list[str]:
    """`_name`s of another package's module that `name` imports or reads (`module._name`)."""
    top = name.split(".")[:2]
    tree = ast.parse(path.read_text())
    crossing, bound = [], {}  # bound: local name -> the ablab module it names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ablab"):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in known:
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                elif _private(alias.name) and node.module.split(".")[:2] != top:
                    crossing.append(f"{name} imports {node.module}.{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
            module = bound.get(node.value.id)
            if module and module.split(".")[:2] != top:
                crossing.append(f"{name} reads {module}.{node.attr}")
    return crossing


def _private(attr: str) -> bool:
    return attr.startswith("_") and not attr.startswith("__")


def test_no_private_name_crosses_a_package():
    known = modules()
    assert [c for name, path in known.items() for c in private_names_crossing(name, path, known)] == []


def test_the_check_finds_a_private_name_crossing(tmp_path):
    known = {"ablab.run.train": None, "ablab.fused.group": None, "ablab.run.membership": None}
    path = tmp_path / "build.py"
    path.write_text("from ablab.run.train import _classifier, train\nfrom ablab.run import membership\n"
                    "membership._current\n")
    assert private_names_crossing("ablab.fused.group", path, known) == [
        "ablab.fused.group imports ablab.run.train._classifier", "ablab.fused.group reads ablab.run.membership._current"]
    assert private_names_crossing("ablab.run.other", path, known) == []  # its own package's


def test_the_check_finds_an_upward_import_inside_a_function(tmp_path):
    path = tmp_path / "table.py"
    path.write_text("def default_of(key):\n    from ablab.sweeps.ofat import UNKNOWN\n    return UNKNOWN\n")
    targets = imports_of("ablab.report.table", path, {"ablab.report.table": path, "ablab.sweeps.ofat": None})
    assert targets == {"ablab.sweeps.ofat"} and layer_of("ablab.sweeps.ofat") > layer_of("ablab.report.table")
