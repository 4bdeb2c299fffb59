"""`nodegraph` is a node-graph engine and editor for any domain: it imports nothing of `nodes`
and names none of DragGAN's port types, node types or params. What its editor does specially
(image previews, point editing, mask painting) follows what node types declare
(nodegraph.views), which `nodes` registers."""

from __future__ import annotations

import re
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "nodegraph"
PORT_TYPES = ("IMAGE", "LATENT", "GENERATOR", "MASK", "POINTS")
NODE_TYPES = ("DragOptimizer", "PointSet", "Generator", "Latent", "Mask", "Export", "Render", "Invert", "ImageLoad")
PARAMS = ("points", "strokes", "handle", "target", "feature_block", "truncation_psi")
NAMES = "|".join(PORT_TYPES + NODE_TYPES + PARAMS)
DOMAIN_NAMES = re.compile(rf"""(["'])({NAMES})\1""")  # any of them as a string literal
IMPORTS_NODES = re.compile(r"^\s*(from nodes[. ]|import nodes\b)", re.M)


def engine_files() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def test_the_engine_imports_nothing_of_nodes():
    assert [str(p) for p in engine_files() if IMPORTS_NODES.search(p.read_text(encoding="utf-8"))] == []


def test_the_engine_names_no_port_type_node_type_or_param_of_the_domain():
    found = [
        f"{path.relative_to(ENGINE.parent)}:{text.count(chr(10), 0, m.start()) + 1} {m.group(0)}"
        for path in engine_files()
        for text in [path.read_text(encoding="utf-8")]
        for m in DOMAIN_NAMES.finditer(text)
    ]
    assert found == []


def test_the_pattern_finds_a_domain_name_used_as_a_special_case():
    assert DOMAIN_NAMES.search('if decl.type == "POINTS" and cls.param("strokes"):')
    assert not DOMAIN_NAMES.search('if role(decl.type) == "pairs":')
