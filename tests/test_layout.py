"""The package's imports run one way: the import graph of hmm_core has no cycle.

Every ``import`` and ``from ... import`` inside hmm_core counts, including
those inside functions; relative imports are resolved. An import of a
module's own parent package is not an edge (the package is being imported
already when its submodules load).
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "hmm_core"


def _modules():
    """Dotted name -> (path, is_package) of every module of the source tree."""
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        package = path.name == "__init__.py"
        name = ".".join(parts[:-1] if package else parts)
        modules[name] = (path, package)
    return modules


def _resolve(name, modules):
    """The module that ``name`` (a module or a name inside one) belongs to."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph():
    """Edges ``module -> set of imported hmm_core modules``."""
    modules = _modules()
    graph = {name: set() for name in modules}
    for name, (path, package) in modules.items():
        here = name.split(".") if package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here[: len(here) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                if not target.startswith("hmm_core"):
                    continue
                module = _resolve(target, modules)
                parent_package = name.startswith(f"{module}.") and modules[module][1]
                if module and module != name and not parent_package:
                    graph[name].add(module)
    return graph


def find_cycle(graph):
    """One cycle as a list of modules (first repeated at the end), or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for succ in sorted(graph[node]):
            if state.get(succ) == "open":
                return stack[stack.index(succ):] + [succ]
            if succ not in state:
                found = visit(succ)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert len(graph) > 40
    assert "hmm_core.kernels.chain" in graph["hmm_core.hmm.core"]
    # the command line's helpers import the model-file module inside a function only
    assert "hmm_core.io.modelfile" in graph["hmm_core.cli._common"]


def test_find_cycle_reports_the_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


if __name__ == "__main__":
    edges = import_graph()
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} edges, "
          f"cycle: {find_cycle(edges)}")
