"""Every "SPEC §N" the code cites is a section of docs/SPEC.md, so a reader can follow it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CITATION = re.compile(r"SPEC §(\d+[a-z]?)")


def cited_sections() -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    for folder in ("nodegraph", "nodes", "projects", "tests", "docs"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".md") and path.is_file():
                for section in CITATION.findall(path.read_text(encoding="utf-8")):
                    cited.setdefault(section, []).append(str(path.relative_to(ROOT)))
    return cited


def test_every_spec_citation_names_a_section_of_docs_spec():
    headings = re.findall(r"^## (\d+[a-z]?)\. ", (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8"), re.M)
    cited = cited_sections()
    assert cited, "no citations found: the pattern or the folders are wrong"
    missing = {section: files for section, files in cited.items() if section not in headings}
    assert not missing, f"cited sections missing from docs/SPEC.md: {missing}"
