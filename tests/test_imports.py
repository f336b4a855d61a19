"""The import graph of the ``crowdsource`` package has no cycles, and nothing imports a view.

The graph is read from the source with ``ast``, so an import hidden inside a function counts
as much as one at the top of a module: moving an import into a function does not break a
cycle, it only hides it. An edge goes from a module to every module it imports — ``from
crowdsource.payments import escrow`` imports ``crowdsource.payments.escrow`` (a module) and
``from crowdsource.payments import bp`` imports the package ``crowdsource.payments`` — and to
the packages above that module, which Python imports first (except ``crowdsource`` itself,
which is always imported before any of its modules).

The rule on imports inside functions: they are allowed only where the app is wired together
— the app factory's steps in ``crowdsource/__init__.py`` (which import the view modules,
extensions and commands they register) and the commands of ``crowdsource/cli.py`` (each
imports what it runs, so that ``flask --help`` loads no domain code). Those are not edges of
the graph. Everywhere else an import inside a function is an edge like any other, so it can
be there for a reason (a heavy library loaded late) but never to dodge a cycle.

A view module (``views.py``, ``*_views.py`` and every module of ``VIEW_MODULES``) attaches
routes to a blueprint; only the factory imports it.
"""

import ast
import pathlib

import crowdsource

PACKAGE = pathlib.Path(crowdsource.__file__).parent
#: modules whose imports inside functions are wiring, not dependencies (see above)
WIRING = {"crowdsource", "crowdsource.cli"}


def _modules():
    """Every module of the package by dotted name (migrations are Alembic's scripts)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(module, path, node, modules):
    """The crowdsource modules an import statement of ``module`` names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
            for alias in node.names
        ]
    targets = set()
    for name in names:
        if name != "crowdsource" and not name.startswith("crowdsource."):
            continue
        while name not in modules:  # an attribute of a module: the module
            name = name.rsplit(".", 1)[0]
        targets.add(name)
        parent = name.rsplit(".", 1)[0]
        while parent != "crowdsource" and "." in parent:
            targets.add(parent)  # imported before the module itself
            parent = parent.rsplit(".", 1)[0]
    return targets - {module}


class _Imports(ast.NodeVisitor):
    def __init__(self, module, path, modules):
        self.module, self.path, self.modules = module, path, modules
        self.depth = 0
        self.edges = {}  # target -> line of its first import

    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node):
        if self.depth and self.module in WIRING:
            return
        for target in _imported(self.module, self.path, node, self.modules):
            self.edges.setdefault(target, node.lineno)

    visit_ImportFrom = visit_Import


def import_graph():
    """{module: {imported module: line}} of the whole package."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        visitor = _Imports(module, path, modules)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        graph[module] = visitor.edges
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def is_view(module):
    last = module.rsplit(".", 1)[-1]
    return last == "views" or last.endswith("_views") or module in crowdsource.VIEW_MODULES


def test_the_package_imports_without_a_cycle():
    graph = import_graph()
    found = cycles(graph)
    described = [
        " ; ".join(
            f"{module} -> {target} (line {line})"
            for module in component
            for target, line in sorted(graph[module].items())
            if target in component
        )
        for component in found
    ]
    assert described == []


def test_no_module_imports_a_view():
    graph = import_graph()
    importing_views = sorted(
        f"{module} imports {target} (line {line})"
        for module, targets in graph.items()
        for target, line in targets.items()
        if is_view(target)
    )
    assert importing_views == []


def test_the_factory_attaches_every_view_module():
    views = sorted(module for module in import_graph() if is_view(module))
    assert views == sorted(crowdsource.VIEW_MODULES)


def test_the_graph_sees_imports_inside_functions_and_resolves_modules(tmp_path):
    """The checks above would pass on a graph that missed what they look for: show they see
    an in-function import, a module named in a ``from`` import and a cycle."""
    source = "def later():\n    from crowdsource.payments import card\n"
    tree = ast.parse(source)
    modules = {"crowdsource.payments.escrow": None, "crowdsource.payments.card": None}
    modules["crowdsource.payments"] = None
    visitor = _Imports("crowdsource.payments.escrow", tmp_path / "escrow.py", modules)
    visitor.visit(tree)
    assert set(visitor.edges) == {"crowdsource.payments.card", "crowdsource.payments"}
    looped = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert cycles(looped) == [["a", "b", "c"]]
