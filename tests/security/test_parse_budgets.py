"""Issue 26, parsing half: each hostile input in a fresh `python -m nodegraph` process, asserting
the exit code, one line under 300 characters, and peak RSS (psutil) under 500 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from nodegraph.budgets import cap
from tests.security.subprocess_cli import REPO, check


def doc(nodes: list, links: list | None = None) -> dict:
    return {"format": "nodegraph.project", "version": 1, "nodes": nodes, "links": links or []}


def test_json_of_many_containers(tmp_path):  # row 4, as a JSON file
    path = tmp_path / "p.ngproj.json"
    body = ",".join(["{}"] * 4_000_000)
    path.write_text('{"format": "nodegraph.project", "version": 1, "meta": {"x": [' + body + "]}}")
    check(tmp_path, ["run", str(path)], 2, "objects and lists; the limit is 1,000,000")


def test_png_ztxt_of_many_containers(tmp_path):  # row 4, embedded in a PNG
    body = "[" + ",".join(["{}"] * (64 * 1024**2 // 3 - 1)) + "]"
    info = PngInfo()
    info.add_text("nodegraph.project", body, zip=True)
    path = tmp_path / "bomb.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    assert path.stat().st_size < 200_000
    check(tmp_path, ["run", str(path)], 2, "objects and lists; the limit is 1,000,000")


def test_node_count(tmp_path):  # row 5, node half
    path = tmp_path / "p.ngproj.json"
    nodes = [{"id": f"n{i}", "type": "PointSet"} for i in range(1001)]
    path.write_text(json.dumps(doc(nodes)))
    check(tmp_path, ["run", str(path)], 2, "1,001 nodes; the limit is 1,000")


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"points": [{"handle": [1, 1], "target": [2, 1e400]}]}, "out of range"),
        ({"points": [{"handle": [1, 1], "target": [2, 2], "weight": 3}]}, "unknown key 'weight'"),
        ({"points": [{"handle": [True, 1], "target": [2, 2]}]}, "true and false are not numbers"),
    ],
)
def test_strict_numbers(tmp_path, params, fragment):  # row 8
    path = tmp_path / "p.ngproj.json"
    text = json.dumps(doc([{"id": "p", "type": "PointSet", "params": params}]))
    path.write_text(text.replace("Infinity", "1e400"))
    check(tmp_path, ["run", str(path)], 2, fragment)


def test_png_of_zero_chunks(tmp_path):  # row 10: signature + 50 GiB sparse zeros
    path = tmp_path / "sparse.png"
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(50 * 1024**3)
    check(tmp_path, ["run", str(path)], 2, "is a damaged PNG")


@pytest.mark.parametrize("field", ["type", "param", "link"])
def test_long_strings_capped(tmp_path, field):  # row 12
    huge = "x" * (20 * 1024**2)
    node = {"id": "p", "type": "PointSet"}
    links = None
    if field == "type":
        node["type"] = huge
    elif field == "param":
        node["params"] = {huge: 1}
    else:
        links = [{"from": [huge, "points"], "to": ["p", "x"]}]
    path = tmp_path / "p.ngproj.json"
    path.write_text(json.dumps(doc([node], links)))
    check(tmp_path, ["run", str(path)], 2, "..." + "x" * 10)  # the huge word shortened


def test_eps_named_png(tmp_path):  # row 13
    (tmp_path / "evil.png").write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    path = tmp_path / "p.ngproj.json"
    node = {"id": "load", "type": "ImageLoad", "params": {"path": "evil.png"}}
    path.write_text(json.dumps(doc([node])))
    check(tmp_path, ["run", str(path), "--device", "cpu", "--quiet"], 1, "is a PostScript/EPS file")


def test_nodes_into_closed_pipe(tmp_path):  # row 6, CLI half
    env = dict(os.environ, PYTHONPATH=REPO)
    shell = f"{sys.executable} -m nodegraph nodes | head -1 >/dev/null"
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {shell}"], env=env, capture_output=True
    )
    assert b"Traceback" not in result.stderr and b"BrokenPipe" not in result.stderr, result.stderr


def test_cap_shortens_long_words_before_eliding_the_sentence():  # row 12
    message = "file /" + "d" * 200 + "/p.ngproj.json, node 'e': the path is an absolute path; fix it"
    capped = cap(message, 150)
    assert capped.startswith("file /ddd") and capped.endswith("the path is an absolute path; fix it")
    assert len(capped) <= 150 and "middle left out" not in capped
    assert len(cap("y" * 5000, 100)) <= 100


def test_mask_paint_cost(tmp_path):  # row 9: each stroke within its limits, the sum is not
    stroke = {"points": [[i * 400.0, 2048.0] for i in range(10)], "radius": 16384, "mode": "add"}
    mask = {"id": "m", "type": "Mask", "params": {"size": 4096, "strokes": [stroke] * 10_000}}
    path = tmp_path / "p.ngproj.json"
    path.write_text(json.dumps(doc([mask])))
    check(tmp_path, ["run", str(path)], 2, "params.strokes would paint")
