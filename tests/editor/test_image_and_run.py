"""The image panel edits PointSet and Mask params; runs show the engine's images; screenshots."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nodes.types import image_to_uint8
from tests.editor.helpers import drag_graph, pump

pytestmark = pytest.mark.editor


def test_click_adds_a_handle_then_its_target_as_one_undo_step(editor, tiny_checkpoint):
    ids = drag_graph(editor, tiny_checkpoint)
    editor.select(ids["points"])
    editor.frame()
    assert editor.panel.mode == "pairs"
    editor.panel.press(10, 12)
    assert editor.graph.params(ids["points"])["points"] == []  # a handle alone is pending
    editor.panel.press(20, 22)
    assert editor.graph.params(ids["points"])["points"] == [
        {"handle": [10, 12], "target": [20, 22]}
    ]
    editor.undo()
    assert editor.graph.params(ids["points"])["points"] == []


def test_dragging_a_point_moves_it_and_right_click_deletes_its_pair(editor, tiny_checkpoint):
    ids = drag_graph(editor, tiny_checkpoint)
    editor.select(ids["points"])
    panel = editor.panel
    editor.frame()
    panel.press(5, 5), panel.press(25, 5)
    panel.press(25.2, 5.1)  # grabs the target
    panel.move_to(28, 9)
    panel.release(28, 9)
    assert editor.graph.params(ids["points"])["points"] == [{"handle": [5, 5], "target": [28, 9]}]
    panel.press(5, 5, button=1)
    assert editor.graph.params(ids["points"])["points"] == []


def test_painting_a_stroke_adds_it_to_the_mask(editor, tiny_checkpoint):
    ids = drag_graph(editor, tiny_checkpoint, with_mask=True)
    editor.select(ids["mask"])
    editor.frame()
    panel = editor.panel
    assert panel.mode == "brush"
    panel.set_radius(3)
    panel.wheel(+1)
    assert panel.radius == 4
    panel.press(4, 4)
    panel.move_to(10, 4)
    panel.release(16, 4)
    (stroke,) = editor.graph.params(ids["mask"])["strokes"]
    assert stroke["mode"] == "add" and stroke["radius"] == 4
    assert stroke["points"][0] == [4, 4] and stroke["points"][-1] == [16, 4]
    panel.press(8, 8, button=1)
    panel.release(8, 8)
    assert editor.graph.params(ids["mask"])["strokes"][-1]["mode"] == "erase"
    editor.wait_idle(60)
    assert panel.mask is not None and panel.mask.shape == (32, 32)  # the engine's mask, as overlay
    panel.reset_mask()
    assert editor.graph.params(ids["mask"])["strokes"] == []


def test_run_shows_the_drag_result_in_the_panel_and_the_screenshot(
    editor, tiny_checkpoint, tmp_path
):
    ids = drag_graph(editor, tiny_checkpoint, steps=2)
    editor.select(ids["points"])
    editor.wait_idle(60)  # the panel renders the latent so points can be placed before a run
    assert editor.panel.image is not None and editor.panel.image.shape[-1] == 32
    editor.panel.press(12, 16), editor.panel.press(18, 16)
    editor.run()
    assert editor.wait_idle(120)
    assert editor.last_report is not None and editor.last_report.ok, editor.status_message
    editor.select(ids["drag"])
    pump(editor, 3)
    result = editor.value_of(ids["drag"], "image")
    assert result is not None and editor.panel.image is not None
    shot = np.asarray(Image.open(editor.screenshot(tmp_path / "shot.png")).convert("RGB"))
    assert shot.shape[:2] == (900, 1480)
    assert shot.std() > 10  # not blank
    (x0, y0), (w, h) = editor.panel_image_rect()
    region = Image.fromarray(shot[y0 : y0 + h, x0 : x0 + w]).resize((32, 32), Image.BOX)
    expected = image_to_uint8(result).astype(np.float32)
    assert np.abs(np.asarray(region, np.float32) - expected).mean() < 12


def test_undo_after_a_run_restores_the_points(editor, tiny_checkpoint):
    ids = drag_graph(editor, tiny_checkpoint)
    editor.select(ids["points"])
    editor.panel.press(3, 3), editor.panel.press(9, 9)
    editor.undo()
    editor.redo()
    assert len(editor.graph.params(ids["points"])["points"]) == 1


def test_a_run_with_an_unlinked_input_shows_the_engines_message(editor):
    editor.add_node("DragOptimizer")
    editor.run()
    editor.wait_idle(30)
    assert "is not linked" in editor.status_message


def test_xdotool_click_on_the_image_adds_a_handle(editor, tiny_checkpoint):
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed")
    ids = drag_graph(editor, tiny_checkpoint)
    editor.select(ids["points"])
    editor.wait_idle(60)
    pump(editor, 3)
    (x0, y0), (w, h) = editor.panel_image_rect()
    x, y = x0 + w // 4, y0 + h // 2
    subprocess.run(["xdotool", "mousemove", str(x), str(y)], check=True)
    pump(editor, 4)
    subprocess.run(["xdotool", "click", "1"], check=True)
    pump(editor, 4)
    hx, hy = editor.panel.pending_handle
    assert abs(hx - 8) <= 1.5 and abs(hy - 16) <= 1.5  # a quarter across, half down a 32 px image


def test_cli_opens_a_project_runs_it_and_writes_a_screenshot(display, tiny_checkpoint, tmp_path):
    from nodegraph import Graph

    g = Graph()
    gen = g.add("Generator", checkpoint=str(tiny_checkpoint), device="cpu")
    latent = g.add("Latent", seed=2)
    render = g.add("Render")
    g.connect(gen["generator"], latent["generator"])
    g.connect(gen["generator"], render["generator"])
    g.connect(latent["latent"], render["latent"])
    project = tmp_path / "p.ngproj.json"
    g.save(project)
    out = tmp_path / "shot.png"
    cmd = [
        sys.executable,
        "-m",
        "nodegraph",
        "edit",
        str(project),
        "--run",
        "--screenshot",
        str(out),
        "--frames",
        "2",
    ]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shot = np.asarray(Image.open(out).convert("RGB"))
    assert shot.shape[:2] == (900, 1480) and shot.std() > 10


def test_a_pair_is_drawn_as_an_arrow_whose_head_shows_before_the_target(
    editor, tiny_checkpoint, tmp_path
):
    """Issue 25 item 11: the handle-to-target line ends in a visible white arrowhead."""
    import numpy as np
    from PIL import Image

    from tests.editor.helpers import image_to_screen, wait_until

    ids = drag_graph(editor, tiny_checkpoint)
    editor.graph.set(ids["points"], points=[{"handle": [4, 16], "target": [26, 16]}])
    editor.select(ids["points"])
    wait_until(editor, lambda: editor.panel.image is not None, 60, "the points' image")
    editor.wait_idle(30)
    shot = np.asarray(Image.open(editor.screenshot(tmp_path / "pair.png")).convert("RGB"))
    tx, ty = image_to_screen(editor, 26, 16)
    # the head's wings: white pixels beside the line, just before the target's disc
    wing = [shot[ty + dy, tx - 7 - dx] for dx in range(1, 8) for dy in (-3, -2, 2, 3)]
    assert sum(min(p) > 200 for p in wing) >= 2, wing
