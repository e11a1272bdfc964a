"""The layering rules of DESIGN.md, checked on the source so they cannot erode silently."""
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
