"""The repository's docs are what the code relies on: code cites them, and they name code that exists."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"(?<![\w/])(DESIGN|DOMAIN|API|SPIFFWORKFLOW|PROCEDURES)\.md")


def test_code_cites_only_documents_of_the_repository():
    cited = [f"{p.relative_to(ROOT)}:{n}" for folder in ("orchestrator", "api", "admin", "tests", "benchmarks")
             for p in (ROOT / folder).rglob("*.py") for n, line in enumerate(p.read_text().splitlines(), 1)
             if OUTSIDE.search(line) and p.name != "test_docs.py"]
    assert cited == []


def test_the_domain_rules_name_modules_that_exist():
    text = (ROOT / "docs" / "domain.md").read_text()
    named = set(re.findall(r"`((?:services|models|admin|api|bpmn|orchestrator)/[\w./-]+\.(?:py|bpmn|dmn|json))`", text))
    assert named, "docs/domain.md names no module"
    missing = [n for n in named if not any((ROOT / base / n).exists() for base in ("", "orchestrator"))]
    assert missing == []


def test_every_picture_the_readme_shows_exists():
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    pictures = re.findall(r"\]\((docs/screenshots/[^)]+\.png)\)", readme)
    assert len(pictures) >= 20
    assert [p for p in pictures if not (Path(__file__).parent.parent / p).is_file()] == []
