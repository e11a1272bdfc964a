"""The layering rules of docs/architecture.md, checked on the source so they cannot erode silently."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(*folders: str):
    for folder in folders:
        yield from (p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


def test_only_the_engine_imports_spiffworkflow():
    offenders = [str(p.relative_to(ROOT)) for p in python_files("orchestrator", "api", "admin")
                 if any(n.split(".")[0] == "SpiffWorkflow" for n in imports(p))
                 and "engine" not in p.relative_to(ROOT / "orchestrator").parts[:1]]
    assert offenders == []


def test_core_does_not_import_the_http_layers_except_the_app_factory():
    offenders = [str(p.relative_to(ROOT)) for p in python_files("orchestrator")
                 if any(n.split(".")[0] in ("api", "admin") for n in imports(p)) and p.name != "__init__.py"]
    assert offenders == []
    assert not any(n.split(".")[0] in ("flask",) for p in python_files("orchestrator/engine") for n in imports(p))


PROJECT_PACKAGES = ("orchestrator", "api", "admin")


def test_http_layers_do_not_import_the_engine():
    """api/ and admin/ reach diagrams, routing paths and the engine's checks through services."""
    def reaches_engine(node: ast.AST) -> bool:
        if isinstance(node, ast.Import):
            return any(a.name == "orchestrator.engine" or a.name.startswith("orchestrator.engine.")
                       or a.name.split(".")[0] == "SpiffWorkflow" for a in node.names)
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "orchestrator":
                return any(a.name == "engine" for a in node.names)
            return (node.module == "orchestrator.engine" or node.module.startswith("orchestrator.engine.")
                    or node.module.split(".")[0] == "SpiffWorkflow")
        return False

    offenders = [f"{p.relative_to(ROOT)}:{node.lineno}" for p in python_files("api", "admin")
                 for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))) if reaches_engine(node)]
    assert offenders == []


def test_no_module_calls_another_modules_private_helpers():
    """`module._name` (or `from module import _name`) where `module` is one of ours: a helper another
    module needs gets a public name, or moves where it belongs. `self._x` / `cls._x` are fine, and so
    are libraries' names (not checked here: lxml's `etree._Element` is its public element type)."""
    def private(name: str) -> bool:
        return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))

    def root_name(node: ast.AST) -> str | None:
        while isinstance(node, ast.Attribute):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    offenders = []
    for p in python_files(*PROJECT_PACKAGES):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        ours: set[str] = set()  # local names bound to our modules (or to names imported from them)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                ours |= {(a.asname or a.name).split(".")[0] for a in node.names
                         if a.name.split(".")[0] in PROJECT_PACKAGES}
            elif isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in PROJECT_PACKAGES):
                for a in node.names:
                    ours.add(a.asname or a.name)
                    if private(a.name):
                        offenders.append(f"{p.relative_to(ROOT)}:{node.lineno} imports {a.name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and private(node.attr) and root_name(node.value) in ours:
                offenders.append(f"{p.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert offenders == []


# The one-way rules of docs/architecture.md, with relative imports resolved -------------------

def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def absolute_imports(path: Path) -> set[tuple[str, int]]:
    """(module, line) for every import of a file, function-level ones included, relative ones made
    absolute; `from m import x` gives `m` and `m.x` (x may be a submodule)."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(a.name, node.lineno) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            found.add((base, node.lineno))
            found |= {(f"{base}.{a.name}", node.lineno) for a in node.names}
    return found


def importers(folders: tuple[str, ...], forbidden) -> list[str]:
    """`file:line module` for each import in those folders of a module `forbidden(module)` refuses."""
    return sorted(f"{p.relative_to(ROOT)}:{line} {module}" for p in python_files(*folders)
                  for module, line in absolute_imports(p) if forbidden(module))


def within(*packages: str):
    return lambda module: any(module == p or module.startswith(p + ".") for p in packages)


def test_the_core_never_imports_flask():
    """Services, engine and models are plain Python: what they need of the app's configuration is
    passed to them (orchestrator/settings.py), never read from flask.current_app."""
    def flask(module: str) -> bool:
        return module.split(".")[0] == "flask" or module.startswith("flask_")

    assert importers(("orchestrator/services", "orchestrator/engine", "orchestrator/models"), flask) == []


def test_models_import_neither_services_nor_engine():
    assert importers(("orchestrator/models",), within("orchestrator.services", "orchestrator.engine")) == []


def test_engine_imports_neither_services_nor_models():
    assert importers(("orchestrator/engine",), within("orchestrator.services", "orchestrator.models")) == []


def test_api_and_admin_do_not_import_each_other():
    """Both are blueprints over the services; what they share (the rate limiter, the database)
    lives in orchestrator/extensions.py."""
    assert importers(("api",), within("admin")) == []
    assert importers(("admin",), within("api")) == []


def import_graph(*folders: str) -> dict[str, set[str]]:
    """Module -> the modules of these folders it imports (function-level imports included)."""
    modules = {module_name(p): p for p in python_files(*folders)}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for module, _line in absolute_imports(path):
            while module and module not in modules:  # `from m import name`: m itself
                module = module.rpartition(".")[0]
            if module and module != name:
                edges.add(module)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One import loop (a -> b -> ... -> a) through each module that is in one."""
    found, done = [], set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            loop = path[path.index(name):] + [name]
            if not any(set(loop) == set(known) for known in found):
                found.append(loop)
            return
        if name in done:
            return
        for nxt in sorted(graph[name]):
            visit(nxt, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    return found


def test_no_import_cycles_in_the_http_layers_and_services():
    """Each blueprint lives in a module of its own (`api/blueprint.py`, `admin/blueprint.py`) that
    imports none of its views, so the package imports its modules and none imports it back."""
    assert cycles(import_graph("api", "admin", "orchestrator/services")) == []


def test_the_time_zone_is_defined_once():
    """`TZ = ZoneInfo("Asia/Ho_Chi_Minh")` is written once, in orchestrator/timezone.py; everything
    else imports it (the Babel setting too: `TZ.key`)."""
    places = []
    for p in python_files("orchestrator", "api", "admin"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            if (isinstance(node, ast.Constant) and node.value == "Asia/Ho_Chi_Minh"
                    or isinstance(func, ast.Name) and func.id == "ZoneInfo"
                    or isinstance(func, ast.Attribute) and func.attr == "ZoneInfo"
                    or isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "TZ"
                                                            for t in node.targets)):
                places.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert len(set(places)) == 1 and places[0].startswith("orchestrator/timezone.py:"), places
