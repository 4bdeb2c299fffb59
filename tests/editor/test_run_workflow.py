"""DragGAN's interactive workflow with real X events: Run, watch the panel follow the drag,
Stop (Escape or the button) keeps the drag so far, reload reproduces it, Continue chains the
next stage; Escape in the quick search leaves the run alone; deleting a node cancels a run."""

from __future__ import annotations

import dearpygui.dearpygui as dpg
import pytest
import torch

from nodegraph import Graph
from tests.editor.helpers import drag_graph, item_center, link, pump, wait_until
from tests.editor.xinput import click, key, move, type_text

pytestmark = pytest.mark.editor


def _long_drag(editor, checkpoint, steps=100000):
    ids = drag_graph(editor, checkpoint, steps=steps)
    editor.graph.set(ids["points"], points=[{"handle": [5, 5], "target": [30, 30]}])
    pump(editor, 2)
    return ids


def _drag_step(editor, node) -> int:
    text = dpg.get_item_configuration(editor.canvas.views[node].progress)["overlay"]
    return int(text.split("/")[0]) if "/" in text else 0


def _running_drag(editor, checkpoint, at_step=3):
    ids = _long_drag(editor, checkpoint)
    editor.select(ids["points"])
    editor.run()
    wait_until(editor, lambda: _drag_step(editor, ids["drag"]) >= at_step, 120, "drag steps")
    return ids


def test_the_panel_follows_the_drag_and_shows_a_legend(xeditor, tiny_checkpoint):
    ids = _running_drag(xeditor, tiny_checkpoint)
    assert xeditor.panel.node == ids["drag"]  # it left the point set to show the running drag
    wait_until(xeditor, lambda: xeditor.panel.tracked, 60, "tracked points drawn")
    overlay = xeditor.panel.overlay()
    assert overlay.handles == [(5, 5)] and overlay.targets == [(30, 30)]
    assert len(overlay.tracked) == 1 and dpg.is_item_shown(xeditor.panel.legend)
    xeditor.runner.cancel()
    xeditor.wait_idle(60)


def test_escape_stops_and_the_drag_keeps_its_result_which_reloads(
    xeditor, tiny_checkpoint, tmp_path
):
    ids = _running_drag(xeditor, tiny_checkpoint)
    move(xeditor, *item_center(xeditor.canvas.tag))
    key(xeditor, "Escape")
    assert xeditor.wait_idle(60)
    stopped_at = xeditor.graph.params(ids["drag"])["stopped_at"]
    assert 3 <= stopped_at < 100000  # the steps done, as one undoable edit
    assert xeditor.graph.params(ids["drag"])["steps"] == 100000  # the budget stays
    assert "stopped" in xeditor.status_message and "step" in xeditor.status_message
    kept = xeditor.value_of(ids["drag"], "latent")
    assert kept is not None and xeditor.panel.image is not None  # shown, and usable downstream
    path = tmp_path / "stopped.ngproj.json"
    assert xeditor.files.save_as(path)
    again = Graph.load(path).value(ids["drag"], "latent", device="cpu")
    assert torch.allclose(again.ws, kept.ws.cpu(), atol=1e-5)  # reproducible after reload
    xeditor.undo()
    assert xeditor.graph.params(ids["drag"])["stopped_at"] is None


def test_stop_keeps_no_cap_on_later_runs_and_lets_export_write_the_kept_image(
    xeditor, tiny_checkpoint, tmp_path
):
    """Issue 25 item 8: Esc during a drag records where it stopped (steps stay 100000), the
    Export after it writes the kept image, and moving a target clears the stop."""
    ids = _long_drag(xeditor, tiny_checkpoint)
    export = xeditor.add_node("Export", pos=(640, 10), path=str(tmp_path / "kept.png"))
    link(xeditor, ids["drag"], "image", export, "image")
    xeditor.select(ids["points"])
    xeditor.run()
    wait_until(xeditor, lambda: _drag_step(xeditor, ids["drag"]) >= 3, 120, "drag steps")
    move(xeditor, *item_center(xeditor.canvas.tag))
    key(xeditor, "Escape")
    wait_until(
        xeditor, lambda: (tmp_path / "kept.png").is_file(), 120, "the Export of the kept drag"
    )
    assert xeditor.wait_idle(60)
    g = xeditor.graph
    assert g.params(ids["drag"])["steps"] == 100000 and g.params(ids["drag"])["stopped_at"] >= 3
    status = dpg.get_value(xeditor.canvas.views[ids["drag"]].status)
    assert status == f"kept at step {g.params(ids['drag'])['stopped_at']}"  # the badge shown
    xeditor.set_param(ids["points"], points=[{"handle": [5, 5], "target": [29, 30]}])
    assert g.params(ids["drag"])["stopped_at"] is None and g.params(ids["drag"])["steps"] == 100000
    xeditor.undo()  # one undo step: the target and the stop come back together
    assert g.params(ids["drag"])["stopped_at"] >= 3


def test_continue_chains_a_stage_from_the_tracked_points(xeditor, tiny_checkpoint):
    ids = _running_drag(xeditor, tiny_checkpoint)
    xeditor.stop()
    assert xeditor.wait_idle(60)
    tracked = xeditor.value_of(ids["drag"], "points").handles
    move(xeditor, *item_center(xeditor.canvas.tag))
    key(xeditor, "ctrl+shift+Return")  # Continue, with real keys
    wait_until(xeditor, lambda: len(xeditor.graph) == 6, 30, "the next stage added")
    g = xeditor.graph
    new_drag = next(n for n in g.nodes if n not in ids.values() and g.links_into(n).get("latent"))
    assert new_drag == "stage2" and g.links_into(new_drag)["points"].src == "stage2_points"
    key(xeditor, "f")  # issue 25 item 4: after F the new stage is in sight
    pump(xeditor, 3)
    x0, y0 = dpg.get_item_pos(xeditor.canvas_box)
    w, h = dpg.get_item_rect_size(xeditor.canvas_box)
    for node in g.nodes:
        (x, y), (nw, nh) = (
            dpg.get_item_rect_min(xeditor.canvas.views[node].item),
            dpg.get_item_rect_size(xeditor.canvas.views[node].item),
        )
        assert x0 <= x and x + nw <= x0 + w and y0 <= y and y + nh <= y0 + h, (
            node,
            xeditor.canvas.last_layout,
        )
    new_points = g.links_into(new_drag)["points"].src
    assert g.links_into(new_drag)["latent"].src == ids["drag"]
    assert [tuple(p["handle"]) for p in g.params(new_points)["points"]] == [
        tuple(round(v, 2) for v in h) for h in tracked
    ]
    assert g.params(new_points)["points"][0]["target"] == [30, 30]
    assert g.params(new_drag)["steps"] == 100000 and g.params(new_drag)["stopped_at"] is None
    wait_until(xeditor, lambda: _drag_step(xeditor, new_drag) >= 1, 120, "the next stage runs")
    assert xeditor.panel.node == new_drag
    xeditor.runner.cancel()
    xeditor.wait_idle(60)


def test_continue_button_after_a_stop_with_real_clicks(xeditor, tiny_checkpoint):
    _running_drag(xeditor, tiny_checkpoint)
    buttons = dpg.get_item_children(dpg.get_item_parent(xeditor.live_box), 1)
    stop, cont = (b for b in buttons if dpg.get_item_label(b).strip() in ("Stop", "Continue"))
    click(xeditor, *item_center(stop))
    assert xeditor.wait_idle(60)
    before = len(xeditor.graph)
    click(xeditor, *item_center(cont))
    wait_until(xeditor, lambda: len(xeditor.graph) == before + 2, 30, "the next stage added")
    xeditor.runner.cancel()
    xeditor.wait_idle(60)


def test_escape_in_the_quick_search_closes_it_and_the_run_goes_on(xeditor, tiny_checkpoint):
    ids = _running_drag(xeditor, tiny_checkpoint)
    move(xeditor, *item_center(xeditor.canvas.tag))
    key(xeditor, "Tab")
    wait_until(xeditor, lambda: dpg.is_item_active(xeditor.search_input), what="search typing")
    type_text(xeditor, "mas")
    key(xeditor, "Escape")
    wait_until(xeditor, lambda: not dpg.is_item_shown(xeditor.search_window), what="closed")
    step = _drag_step(xeditor, ids["drag"])
    wait_until(xeditor, lambda: _drag_step(xeditor, ids["drag"]) > step + 2, 60, "more steps")
    assert xeditor.runner.running() and "stopping" not in xeditor.status_message
    xeditor.runner.cancel()
    xeditor.wait_idle(60)


def test_escape_on_an_idle_editor_does_nothing(xeditor):
    xeditor.status("ready")
    move(xeditor, *item_center(xeditor.canvas.tag))
    key(xeditor, "Escape")
    pump(xeditor, 3)
    assert xeditor.status_message == "ready"


def test_deleting_a_node_during_a_run_cancels_the_run(xeditor, tiny_checkpoint, tmp_path):
    ids = _long_drag(xeditor, tiny_checkpoint)
    xeditor.graph.base_dir = str(tmp_path)  # the output folder of this untitled project
    export = xeditor.add_node("Export", pos=(640, 10), path="out.png")
    xeditor.connect(ids["drag"], "image", export, "image")
    xeditor.run()
    wait_until(xeditor, lambda: _drag_step(xeditor, ids["drag"]) >= 2, 120, "drag steps")
    pump(xeditor, 3)
    x, y = dpg.get_item_rect_min(xeditor.canvas.views[export].item)
    click(xeditor, x + 30, y + 8)
    wait_until(xeditor, lambda: xeditor.canvas.selected_nodes() == [export], what="selected")
    key(xeditor, "Delete")
    wait_until(xeditor, lambda: export not in xeditor.graph, what="deleted")
    assert xeditor.wait_idle(60)
    assert xeditor.last_report.cancelled and not (tmp_path / "out.png").exists()


def test_a_drag_that_does_not_reach_its_targets_ends_with_a_warning(xeditor, tiny_checkpoint):
    ids = _long_drag(xeditor, tiny_checkpoint, steps=2)
    xeditor.run()
    assert xeditor.wait_idle(120)
    message = xeditor.status_message
    assert "warning" in message and "px left after 2 of 2 steps" in message, message
    red, green, _, _ = dpg.get_item_configuration(xeditor.status_text)["color"]
    assert red > 0.9 and green < 0.75  # the warning's orange, not the green of a good run
    assert xeditor.last_report.nodes[ids["drag"]].warnings
