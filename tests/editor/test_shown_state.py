"""What the editor shows is what the graph is (issue 25 items 2, 3, 7, 10): field edits apply
when the field is left, thumbnails, badges and the progress strip follow the cache state, and
the highlighted node is the one the panes show. Real X events (xdotool) where a user acts."""

from __future__ import annotations

import dearpygui.dearpygui as dpg
import pytest

from tests.editor.helpers import drag_graph, item_center, param_field, pump, wait_until
from tests.editor.xinput import click, key, move, type_text

pytestmark = pytest.mark.editor


def _click_field(editor, node, param):
    widget = param_field(editor, node, param)
    wait_until(editor, lambda: dpg.get_item_rect_size(widget)[0] > 0, what=f"{node}.{param}")
    click(editor, *item_center(widget))
    wait_until(editor, lambda: dpg.is_item_active(widget), what=f"{node}.{param} typing")
    return widget


def test_an_auto_number_typed_and_tabbed_away_is_set_in_the_graph(xeditor):
    """Item 2: lr ("auto") typed 0.05 then Tab: the graph has it and the status says so."""
    drag = xeditor.add_node("DragOptimizer", pos=(40, 40))
    pump(xeditor, 3)
    widget = _click_field(xeditor, drag, "lr")
    type_text(xeditor, "0.05")
    key(xeditor, "Tab")
    wait_until(xeditor, lambda: xeditor.graph.params(drag)["lr"] == 0.05, what="lr set")
    assert xeditor.status_message == f"set {drag}.lr" and dpg.get_value(widget) == "0.05"


def test_a_text_field_left_by_a_click_elsewhere_is_set_and_a_bad_one_reverts(xeditor):
    """Item 2: Export path typed then a click on the canvas applies it; `lr` "fast" reverts."""
    export = xeditor.add_node("Export", pos=(40, 40), path="out.png")
    pump(xeditor, 3)
    _click_field(xeditor, export, "path")
    key(xeditor, "End", "BackSpace", "BackSpace", "BackSpace")
    type_text(xeditor, "jpg")
    click(xeditor, *item_center(xeditor.canvas.tag))
    wait_until(xeditor, lambda: xeditor.graph.params(export)["path"] == "out.jpg", what="path")
    drag = xeditor.add_node("DragOptimizer", pos=(300, 40))
    pump(xeditor, 3)
    widget = _click_field(xeditor, drag, "lr")
    type_text(xeditor, "fast")
    key(xeditor, "Return")
    wait_until(xeditor, lambda: dpg.get_value(widget) == "", what="the field reverted")
    assert xeditor.graph.params(drag)["lr"] is None and "not a number" in xeditor.status_message


def test_an_upstream_edit_clears_the_thumbnail_and_badge_at_once(editor, tiny_checkpoint):
    """Item 3: after a run the drag shows a thumbnail and "done"; a steps edit, or an unlink
    upstream, blanks both in the next frame (the cache-state query says it is stale)."""
    ids = drag_graph(editor, tiny_checkpoint, steps=1)
    editor.graph.set(ids["points"], points=[{"handle": [5, 5], "target": [9, 9]}])
    editor.run()
    assert editor.wait_idle(120) and editor.last_report.ok
    status = editor.canvas.views[ids["drag"]].status
    assert editor.canvas.thumbnail_shown(ids["drag"]) and dpg.is_item_shown(status)
    editor.set_param(ids["drag"], steps=2)
    pump(editor, 1)
    assert not editor.canvas.thumbnail_shown(ids["drag"])
    assert not dpg.is_item_shown(status) and ids["drag"] not in editor.jobs.cache_state().current
    assert editor.canvas.thumbnail_shown(ids["gen"]) is False  # a generator has no thumbnail
    editor.undo()
    pump(editor, 1)
    assert not editor.canvas.thumbnail_shown(ids["drag"])  # shown again only when re-run
    editor.run()
    assert editor.wait_idle(120)
    assert editor.canvas.thumbnail_shown(ids["drag"])
    editor.disconnect(ids["drag"], "latent")
    pump(editor, 1)
    assert not editor.canvas.thumbnail_shown(ids["drag"]) and not dpg.is_item_shown(status)


def test_the_progress_strip_is_of_the_graph_shown(editor, tiny_checkpoint, tmp_path):
    """Item 10: after New the strip says idle, not the last project's counts; a refused run
    says so instead of "starting..." and Open clears it."""
    ids = drag_graph(editor, tiny_checkpoint, steps=1)
    editor.graph.set(ids["points"], points=[{"handle": [5, 5], "target": [9, 9]}])
    editor.run()
    assert editor.wait_idle(120)
    assert "computed" in dpg.get_item_configuration(editor.progress)["overlay"]
    editor.files.save_as(tmp_path / "p.ngproj.json")
    editor.files.new()
    pump(editor, 2)
    assert dpg.get_item_configuration(editor.progress)["overlay"] == "idle"
    drag = editor.add_node("DragOptimizer")  # nothing linked: the engine refuses to start
    editor.run()
    editor.wait_idle(60)
    overlay = dpg.get_item_configuration(editor.progress)["overlay"]
    assert overlay != "starting...", editor.status_message
    editor.graph.remove(drag)
    editor.graph.mark_clean()
    assert editor.files.open(tmp_path / "p.ngproj.json")
    pump(editor, 2)
    assert dpg.get_item_configuration(editor.progress)["overlay"] == "idle"


def test_the_highlighted_node_is_the_one_the_panes_show(xeditor, tiny_checkpoint):
    """Item 7: a click on a node shows it in the panes (even when the panes had moved to a
    running drag), and undoing a Delete shows the restored node's params again."""
    ids = drag_graph(xeditor, tiny_checkpoint, steps=1)
    xeditor.select(ids["drag"])  # as a run following the drag does
    pump(xeditor, 2)
    assert xeditor.canvas.shown == ids["drag"]
    x, y = dpg.get_item_rect_min(xeditor.canvas.views[ids["points"]].item)
    click(xeditor, x + 30, y + 8)
    wait_until(xeditor, lambda: xeditor.params.node == ids["points"], what="points shown")
    assert xeditor.canvas.shown == ids["points"] and xeditor.panel.node == ids["points"]
    key(xeditor, "Delete")
    wait_until(xeditor, lambda: ids["points"] not in xeditor.graph, what="deleted")
    key(xeditor, "ctrl+z")
    wait_until(xeditor, lambda: ids["points"] in xeditor.graph, what="restored")
    pump(xeditor, 2)
    assert xeditor.params.node == xeditor.canvas.shown
    assert dpg.get_value(xeditor.params.title) != "Select a node to edit its params"


def test_with_live_on_dragging_a_target_keeps_the_point_view(xeditor, tiny_checkpoint):
    """Item 7: live re-runs the drag after a target is dragged; the panes stay on the points
    (the user is editing them) instead of jumping to the running drag."""
    from tests.editor.helpers import image_to_screen
    from tests.editor.xinput import drag

    ids = drag_graph(xeditor, tiny_checkpoint, steps=3)
    xeditor.graph.set(ids["points"], points=[{"handle": [5, 5], "target": [20, 20]}])
    xeditor.select(ids["points"])
    wait_until(xeditor, lambda: xeditor.panel.image is not None, 60, "the points' image")
    xeditor.set_live(True)
    xeditor.wait_idle(120)
    drag(xeditor, [image_to_screen(xeditor, 20, 20), image_to_screen(xeditor, 24, 22)])
    assert xeditor.graph.params(ids["points"])["points"][0]["target"] == [24, 22]
    wait_until(xeditor, lambda: xeditor.runner.running(), 30, "the live run")
    xeditor.wait_idle(120)
    assert xeditor.panel.node == ids["points"] == xeditor.params.node == xeditor.canvas.shown
    xeditor.set_live(False)


def _overlay(editor) -> str:
    return dpg.get_item_configuration(editor.progress)["overlay"]


def _run_by_keys(editor, ids) -> None:
    """Ctrl+Enter (xdotool) runs; the drag then shows its thumbnail and a badge."""
    key(editor, "ctrl+Return")
    wait_until(editor, lambda: editor.runner.running() or editor.last_report, 30, "the run")
    assert editor.wait_idle(120) and editor.last_report.ok
    pump(editor, 2)
    status = editor.canvas.views[ids["drag"]].status
    assert editor.canvas.thumbnail_shown(ids["drag"]) and dpg.is_item_shown(status)
    assert dpg.get_value(status)


def test_ctrl_z_after_a_run_blanks_the_stale_thumbnail_and_badge_by_keys(xeditor, tiny_checkpoint):
    """Item 3 with real keys: after a Ctrl+Enter run, Ctrl+Z (undoing the points) blanks the
    drag's thumbnail and badge in the frames the key is seen; the Generator's value stays."""
    ids = drag_graph(xeditor, tiny_checkpoint, steps=1)
    xeditor.set_param(ids["points"], points=[{"handle": [5, 5], "target": [9, 9]}])
    pump(xeditor, 2)
    _run_by_keys(xeditor, ids)
    assert "computed" in _overlay(xeditor)  # the run's report
    status = xeditor.canvas.views[ids["drag"]].status
    key(xeditor, "ctrl+z")  # two frames
    assert xeditor.graph.params(ids["points"])["points"] == []
    assert not xeditor.canvas.thumbnail_shown(ids["drag"])
    assert not dpg.is_item_shown(status) and dpg.get_value(status) == ""
    assert "out of date" in _overlay(xeditor) and "computed" not in _overlay(xeditor)
    key(xeditor, "ctrl+shift+z")  # redo: the points are back, but the drag is shown only re-run
    assert xeditor.graph.params(ids["points"])["points"] != []
    assert not xeditor.canvas.thumbnail_shown(ids["drag"])


def _open_recent_by_clicks(editor) -> None:
    """File (clicked), Open recent (hovered), its first entry (clicked). Menu items report
    positions inside their popup only, so the screen rows are the popup's top (under the
    menu bar) plus that position; the File popup is as wide as its longest label and shortcut."""
    click(editor, int(8 + dpg.get_text_size("File")[0] / 2), 10)
    pump(editor, 3)
    recent = editor.recent_menu
    wait_until(editor, lambda: "pos" in dpg.get_item_state(recent), 5, "the File menu")
    row = 20 + dpg.get_item_state(recent)["pos"][1] + dpg.get_text_size("Open recent")[1] / 2
    right = 16 + sum(dpg.get_text_size(t)[0] + 20 for t in ("New from starter", "Ctrl+Shift+S"))
    for x in range(40, int(right) + 121, 20):  # along the row: the submenu opens and stays
        move(editor, x, int(row), frames=1)
    pump(editor, 3)
    click(editor, int(right) + 120, int(row))


def test_new_and_open_by_keys_and_menus_show_the_new_projects_strip(
    xeditor, tiny_checkpoint, tmp_path
):
    """Item 10 with real events: after a run, Ctrl+N and then File > Open recent (clicked) leave
    the strip at "idle", not the last project's counts; a refused Ctrl+Enter does not stay on
    "starting..."."""
    ids = drag_graph(xeditor, tiny_checkpoint, steps=1)
    xeditor.set_param(ids["points"], points=[{"handle": [5, 5], "target": [9, 9]}])
    pump(xeditor, 2)
    _run_by_keys(xeditor, ids)
    assert "4 computed" in _overlay(xeditor)
    project = tmp_path / "p.ngproj.json"
    assert xeditor.files.save_as(project)  # saved: Ctrl+N asks nothing
    key(xeditor, "ctrl+n")
    wait_until(xeditor, lambda: len(xeditor.graph) == 0, 5, "the new project")
    assert _overlay(xeditor) == "idle" and xeditor.status_message == "new project"
    xeditor.add_node("DragOptimizer")  # nothing linked: the engine refuses to start
    pump(xeditor, 2)
    key(xeditor, "ctrl+Return")
    xeditor.wait_idle(60)
    pump(xeditor, 2)
    assert _overlay(xeditor) != "starting...", xeditor.status_message
    xeditor.graph.mark_clean()
    assert xeditor.files.recent[0] == str(project.resolve())
    _open_recent_by_clicks(xeditor)
    wait_until(xeditor, lambda: len(xeditor.graph) == 4, 10, "the project opened")
    pump(xeditor, 2)
    assert _overlay(xeditor) == "idle" and xeditor.title.startswith("p.ngproj.json")
    assert xeditor.status_message.startswith("opened ")
