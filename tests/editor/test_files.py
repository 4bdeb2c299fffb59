"""Files: save and reopen, recent files, the unsaved marker and prompt, PNGs that carry a project."""

from __future__ import annotations

import json

import dearpygui.dearpygui as dpg
import pytest

from nodegraph import Graph
from tests.editor.helpers import drag_graph, wait_until
from tests.editor.xinput import key, move, require_xdotool, type_text

pytestmark = pytest.mark.editor


def test_save_clears_the_unsaved_marker_and_records_a_recent_file(editor, tmp_path, config_dir):
    editor.add_node("Latent", seed=5)
    editor.frame()
    assert editor.title.startswith("untitled *")
    path = tmp_path / "a.ngproj.json"
    assert editor.files.save_as(path)
    editor.frame()
    assert editor.title.startswith("a.ngproj.json -")
    assert json.loads((config_dir / "recent.json").read_text()) == [str(path.resolve())]
    assert Graph.load(path).params("latent")["seed"] == 5


def test_new_asks_before_losing_changes(editor):
    editor.add_node("Latent")
    editor.files.new()
    assert len(editor.graph) == 1 and dpg.is_item_shown(editor.files.confirm_window)
    editor.files.confirm("cancel")
    assert len(editor.graph) == 1
    editor.files.new()
    editor.files.confirm("discard")
    assert len(editor.graph) == 0 and not dpg.is_item_shown(editor.files.confirm_window)


def test_opening_a_bad_file_shows_the_error(editor, tmp_path):
    bad = tmp_path / "bad.ngproj.json"
    bad.write_text("{not json")
    assert not editor.files.open(bad)
    assert "bad.ngproj.json" in editor.status_message


def test_a_png_written_by_export_reopens_as_its_project(editor, tiny_checkpoint, tmp_path):
    ids = drag_graph(editor, tiny_checkpoint)
    editor.graph.remove(ids["drag"])
    render = editor.add_node("Render")
    export = editor.add_node("Export", path=str(tmp_path / "out.png"))
    editor.connect(ids["gen"], "generator", render, "generator")
    editor.connect(ids["latent"], "latent", render, "latent")
    editor.connect(render, "image", export, "image")
    editor.run()
    assert editor.wait_idle(60) and editor.last_report.ok, editor.status_message
    editor.graph.mark_clean()
    assert editor.files.open(tmp_path / "out.png")
    assert sorted(editor.graph.type_of(n).type_name for n in editor.graph.nodes) == [
        "Export", "Generator", "Latent", "PointSet", "Render",
    ]  # fmt: skip
    assert editor.title.startswith("out.png (project from an image)")
    editor.frame()  # issue 25 item 11: the PNG's image is shown, not only its graph
    assert editor.panel.image is not None and "the opened PNG" in dpg.get_value(editor.panel.title)


def test_save_as_offers_the_open_projects_name_and_saves_what_is_typed(editor, tmp_path):
    """Issue 25 item 1, with real keys: the field offers untitled.ngproj.json (dots kept), or
    the open project's file; typing `mine` saves mine.ngproj.json, shown in title and status."""
    require_xdotool()
    move(editor, 600, 400)
    editor.add_node("Latent")
    key(editor, "ctrl+shift+s")
    wait_until(editor, lambda: dpg.is_item_shown(editor.files.save_dialog), what="Save As")
    offered = dpg.get_value(editor.files.save_name)
    assert offered.endswith("/untitled.ngproj.json")
    wait_until(editor, lambda: dpg.is_item_active(editor.files.save_name), what="name typing")
    key(editor, "ctrl+a", "BackSpace")
    type_text(editor, str(tmp_path / "mine"))
    key(editor, "Return")
    wait_until(editor, lambda: (tmp_path / "mine.ngproj.json").is_file(), what="saved")
    assert sorted(p.name for p in tmp_path.glob("mine*")) == ["mine.ngproj.json"]
    assert editor.title.startswith("mine.ngproj.json -")
    assert editor.status_message == f"saved {tmp_path / 'mine.ngproj.json'}"
    key(editor, "ctrl+shift+s")
    wait_until(editor, lambda: dpg.is_item_shown(editor.files.save_dialog), what="Save As again")
    assert dpg.get_value(editor.files.save_name) == str(tmp_path / "mine.ngproj.json")
    key(editor, "Escape")
    editor.files.confirm("cancel")
    dpg.configure_item(editor.files.save_dialog, show=False)


def test_save_in_the_unsaved_changes_prompt_goes_on_with_what_asked(editor, tmp_path):
    editor.add_node("Latent")
    editor.files.new()  # untitled and dirty: the prompt
    editor.files.confirm("save")
    assert dpg.is_item_shown(editor.files.save_dialog) and len(editor.graph) == 1
    dpg.set_value(editor.files.save_name, str(tmp_path / "scratch.ngproj"))
    editor.files._saved()  # the dialog's Save button
    assert (tmp_path / "scratch.ngproj.json").is_file() and not (tmp_path / "scratch.json").exists()
    assert len(editor.graph) == 0  # the New that asked went on


def test_undo_of_a_point_drag_keeps_int_points_so_nothing_re_runs(editor, tiny_checkpoint):
    ids = drag_graph(editor, tiny_checkpoint)
    editor.graph.set(ids["points"], points=[{"handle": [12, 14], "target": [20, 14]}])
    editor.select(ids["points"])
    editor.frame()
    panel, g = editor.panel, editor.graph
    revision = g.revision
    panel.press(12.0, 14.0)  # a click on the handle that does not move it edits nothing
    panel.release(12.0, 14.0)
    assert g.revision == revision
    panel.press(12.0, 14.0)
    panel.move_to(15.0, 16.0)
    panel.release(15.0, 16.0)
    assert g.params(ids["points"])["points"][0]["handle"] == [15, 16]
    assert all(isinstance(v, int) for v in g.params(ids["points"])["points"][0]["handle"])
    editor.undo()
    assert g.params(ids["points"])["points"] == [{"handle": [12, 14], "target": [20, 14]}]


def test_a_newcomer_starts_from_a_linked_drag_graph(editor):
    """Issue 25's newcomer start: File > New from starter (and `nodegraph edit` with no
    project) shows Generator, Latent, PointSet, DragOptimizer and Export, linked, unchanged."""
    editor.files.new_start()
    editor.frame()
    types = sorted(editor.graph.type_of(n).type_name for n in editor.canvas.views)
    assert types == ["DragOptimizer", "Export", "Generator", "Latent", "PointSet"]
    assert len(editor.canvas.link_items) == 5 and not editor.graph.dirty
    assert "starter" in editor.status_message
    assert editor.panel.mode == "pairs" and editor.params.node == "points"  # click points now
