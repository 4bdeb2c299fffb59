"""Real X events (xdotool/XTest) on the editor: typing in fields, dragging points, painting,
quick search keys. Each test waits for what it checks by polling frames, never fixed sleeps."""

from __future__ import annotations

import dearpygui.dearpygui as dpg
import numpy as np
import pytest
from PIL import Image

from tests.editor.helpers import (
    drag_graph,
    image_to_screen,
    item_center,
    param_field,
    pump,
    wait_until,
)
from tests.editor.xinput import click, drag, key, move, require_xdotool, type_text, xdo

pytestmark = pytest.mark.editor


@pytest.fixture
def xeditor(editor):
    require_xdotool()
    move(editor, 5, 5)  # start each test with the pointer parked in a corner
    return editor


def _field(editor, node, param):
    widget = param_field(editor, node, param)
    wait_until(editor, lambda: dpg.get_item_rect_size(widget)[0] > 0, what=f"{node}.{param} drawn")
    return widget


def test_backspace_in_a_number_field_edits_the_number_not_the_graph(xeditor, tiny_checkpoint):
    ids = drag_graph(xeditor, tiny_checkpoint, steps=120)
    x, y = item_center(_field(xeditor, ids["drag"], "steps"))
    click(xeditor, x, y)  # one click and the field takes keys (no double click)
    key(xeditor, "End", "BackSpace", "BackSpace", "Delete")
    type_text(xeditor, "35")
    key(xeditor, "Return")
    wait_until(xeditor, lambda: xeditor.graph.params(ids["drag"])["steps"] == 135, what="steps 135")
    assert ids["drag"] in xeditor.graph and len(xeditor.graph) == 4


def test_backspace_in_a_text_field_never_deletes_the_node(xeditor, tmp_path):
    export = xeditor.add_node("Export", pos=(40, 40), path="out.png")
    pump(xeditor, 3)
    x, y = item_center(_field(xeditor, export, "path"))
    click(xeditor, x, y)
    key(xeditor, "End", "BackSpace", "BackSpace", "BackSpace", "BackSpace", "Delete")
    type_text(xeditor, ".jpg")
    key(xeditor, "Return")
    wait_until(xeditor, lambda: xeditor.graph.params(export)["path"] == "out.jpg", what="path")
    assert export in xeditor.graph


def test_delete_over_the_canvas_removes_the_selected_node(xeditor):
    latent = xeditor.add_node("Latent", pos=(40, 40))
    pump(xeditor, 3)
    x, y = dpg.get_item_rect_min(xeditor.canvas.views[latent].item)
    click(xeditor, x + 30, y + 8)  # its title bar selects it
    wait_until(xeditor, lambda: xeditor.canvas.selected_nodes() == [latent], what="selection")
    key(xeditor, "Delete")
    wait_until(xeditor, lambda: latent not in xeditor.graph, what="deleted")


def _points_editor(editor, checkpoint, pairs):
    ids = drag_graph(editor, checkpoint)
    editor.graph.set(ids["points"], points=pairs)
    editor.select(ids["points"])
    wait_until(editor, lambda: editor.panel.image is not None, 60, "the latent's image")
    editor.wait_idle(30)
    pump(editor, 3)
    return ids


def test_dragging_a_target_moves_it_and_it_is_drawn_there(xeditor, tiny_checkpoint, tmp_path):
    ids = _points_editor(xeditor, tiny_checkpoint, [{"handle": [6, 6], "target": [20, 8]}])
    path = [image_to_screen(xeditor, 20 + i, 8 + i) for i in range(0, 11, 2)]
    drag(xeditor, path)
    wait_until(
        xeditor,
        lambda: xeditor.graph.params(ids["points"])["points"][0]["target"] == [30, 18],
        what="target moved to (30, 18)",
    )
    assert xeditor.graph.params(ids["points"])["points"][0]["handle"] == [6, 6]
    shot = np.asarray(Image.open(xeditor.screenshot(tmp_path / "shot.png")).convert("RGB"))
    x, y = image_to_screen(xeditor, 30, 18)
    r, g, b = shot[y, x].astype(int)
    assert b > 150 and r < 120, f"target colour expected at ({x}, {y}), got {(r, g, b)}"


def _mask_editor(editor, checkpoint, radius):
    ids = drag_graph(editor, checkpoint, with_mask=True)
    editor.select(ids["mask"])
    wait_until(editor, lambda: editor.panel.image is not None, 60, "the image under the mask")
    editor.wait_idle(30)
    editor.panel.set_radius(radius)
    return ids


def test_a_mouse_drag_paints_one_continuous_stroke(xeditor, tiny_checkpoint, tmp_path):
    ids = _mask_editor(xeditor, tiny_checkpoint, radius=1.5)
    before = np.asarray(Image.open(xeditor.screenshot(tmp_path / "a.png")).convert("RGB"))
    path = [image_to_screen(xeditor, x, 16) for x in range(4, 29, 2)]
    drag(xeditor, path)
    (stroke,) = xeditor.graph.params(ids["mask"])["strokes"]
    assert stroke["points"][0] == [4, 16] and stroke["points"][-1] == [28, 16]
    wait_until(xeditor, lambda: _mask_sum(xeditor) > 0, 60, "the mask with the stroke")
    after = np.asarray(Image.open(xeditor.screenshot(tmp_path / "b.png")).convert("RGB"))
    for x in range(4, 29):  # every pixel along the path is tinted, not only the press point
        sx, sy = image_to_screen(xeditor, x, 16)
        diff = np.abs(after[sy, sx].astype(int) - before[sy, sx].astype(int)).sum()
        assert diff > 12, f"pixel ({x}, 16) is not painted: {before[sy, sx]} -> {after[sy, sx]}"
    sx, sy = image_to_screen(xeditor, 16, 28)
    assert np.abs(after[sy, sx].astype(int) - before[sy, sx].astype(int)).max() < 4  # far away: not


def _mask_sum(editor) -> float:
    mask = editor.panel.mask
    return -1.0 if mask is None else float(mask.sum())


def test_undo_of_a_stroke_clears_it_from_the_overlay(xeditor, tiny_checkpoint, tmp_path):
    ids = _mask_editor(xeditor, tiny_checkpoint, radius=3)
    drag(xeditor, [image_to_screen(xeditor, x, 10) for x in (6, 12, 18)])
    wait_until(xeditor, lambda: _mask_sum(xeditor) > 0, 60, "the mask with the stroke")
    painted = np.asarray(Image.open(xeditor.screenshot(tmp_path / "a.png")).convert("RGB"))
    move(xeditor, *item_center(xeditor.canvas.tag))
    key(xeditor, "ctrl+z")
    wait_until(xeditor, lambda: xeditor.graph.params(ids["mask"])["strokes"] == [], what="undo")
    wait_until(xeditor, lambda: _mask_sum(xeditor) == 0, 60, "the mask without the stroke")
    undone = np.asarray(Image.open(xeditor.screenshot(tmp_path / "b.png")).convert("RGB"))
    for x in (6, 12, 18):  # the overlay no longer shows the stroke, without a Run
        sx, sy = image_to_screen(xeditor, x, 10)
        assert np.abs(painted[sy, sx].astype(int) - undone[sy, sx].astype(int)).sum() > 12


def test_quick_search_enter_adds_the_highlighted_type_and_arrows_move_it(xeditor):
    move(xeditor, *item_center(xeditor.canvas.tag))
    key(xeditor, "Tab")
    wait_until(xeditor, lambda: dpg.is_item_active(xeditor.search_input), what="search typing")
    type_text(xeditor, "lat")
    wait_until(xeditor, lambda: xeditor.highlighted == "Latent", what="Latent highlighted")
    assert dpg.get_value(xeditor.search_list) == "Latent"
    key(xeditor, "Down")
    moved = xeditor.highlighted
    assert moved != "Latent" and dpg.get_value(xeditor.search_list) == moved
    key(xeditor, "Return")
    wait_until(xeditor, lambda: len(xeditor.graph) == 1, what="a node added")
    assert xeditor.graph.type_of(xeditor.graph.nodes[0]).type_name == moved


def test_every_wheel_notch_is_one_radius_step_shown_at_once(xeditor, tiny_checkpoint):
    """Issue 25 item 6: four quick notches (one X burst) move the radius 8 -> 12 and the slider
    shows 12 px in the frames that follow; five zoom-out notches give five zoom steps."""
    ids = _mask_editor(xeditor, tiny_checkpoint, radius=8)
    move(xeditor, *image_to_screen(xeditor, 16, 16))
    xdo("click", "--repeat", "4", "--delay", "1", "4")
    pump(xeditor, 6)
    assert xeditor.panel.radius == 12 and dpg.get_value(xeditor.panel.radius_slider) == 12
    xeditor.select(ids["latent"])
    wait_until(xeditor, lambda: xeditor.panel.image is not None, 60, "the latent's image")
    move(xeditor, *image_to_screen(xeditor, 4, 4))
    zoom = xeditor.panel.zoom
    xdo("click", "--repeat", "5", "--delay", "1", "5")
    pump(xeditor, 8)
    assert xeditor.panel.zoom == pytest.approx(zoom / 1.15**5, rel=1e-3)


def test_an_instant_ctrl_enter_chord_runs(xeditor, tiny_checkpoint):
    """Issue 25 item 6: ctrl+Return sent as one chord (both keys down and up at once) runs."""
    ids = drag_graph(xeditor, tiny_checkpoint, steps=1)
    xeditor.graph.set(ids["points"], points=[{"handle": [5, 5], "target": [9, 9]}])
    move(xeditor, *item_center(xeditor.canvas.tag))
    xdo("key", "--delay", "0", "ctrl+Return")
    wait_until(xeditor, lambda: xeditor.last_report is not None, 120, "the run the chord started")
    assert xeditor.last_report.ok


def test_the_brush_outline_follows_the_pointer_and_the_mask_is_outlined(
    xeditor, tiny_checkpoint, tmp_path
):
    """Issue 25 item 9: a white ring of the brush's radius is drawn under the pointer; a
    painted region has a white inner and black outer outline; its radius is saved whole."""
    ids = _mask_editor(xeditor, tiny_checkpoint, radius=3)
    move(xeditor, *image_to_screen(xeditor, 16, 16))
    pump(xeditor, 3)
    shot = np.asarray(Image.open(xeditor.screenshot(tmp_path / "ring.png")).convert("RGB"))
    cx, cy = image_to_screen(xeditor, 16, 16)
    r = int(3 * xeditor.panel.zoom)
    ring = [shot[cy, cx + r + d] for d in (-1, 0, 1)]
    assert any(min(p) > 200 for p in ring), ring  # white ring pixels at the radius
    drag(xeditor, [image_to_screen(xeditor, x, 10) for x in (8, 12, 16)])
    wait_until(xeditor, lambda: _mask_sum(xeditor) > 0, 60, "the mask with the stroke")
    (stroke,) = xeditor.graph.params(ids["mask"])["strokes"]
    assert stroke["radius"] == 3
    move(xeditor, 5, 5)
    shot = np.asarray(Image.open(xeditor.screenshot(tmp_path / "mask.png")).convert("RGB"))
    mask = xeditor.panel.mask.numpy() > 0.5
    ys, xs = np.nonzero(mask)
    top = ys.min()  # the topmost masked row: its edge pixel is white, the one above black
    x = int(xs[ys == top][len(xs[ys == top]) // 2])
    scale = mask.shape[0] / xeditor.panel.image.shape[-1]
    inside = shot[image_to_screen(xeditor, x / scale, top / scale)[::-1]]
    outside = shot[image_to_screen(xeditor, x / scale, (top - 1) / scale)[::-1]]
    assert min(inside) > 230 and max(outside) < 25, (inside, outside)


def test_help_shortcuts_lists_the_table_the_keys_use(xeditor):
    """Issue 25 item 11: Help > Shortcuts (clicked) shows every row of the shortcut table."""
    from nodegraph.editor.shortcuts import help_rows

    labels = ["File", "Edit", "Add", "Run"]  # the menu bar left of Help: ImGui's spacing
    x = 8 + sum(dpg.get_text_size(t)[0] + 14 for t in labels) + dpg.get_text_size("Help")[0] / 2
    click(xeditor, int(x), 10)
    pump(xeditor, 3)
    click(xeditor, int(x) + 10, 34)  # its one item, just below
    wait_until(xeditor, lambda: dpg.is_item_shown(xeditor.help.window), what="Help > Shortcuts")
    assert xeditor.help.rows() == help_rows()
    assert ("Ctrl+Enter", "run: compute the outputs and every image") in xeditor.help.rows()
    dpg.configure_item(xeditor.help.window, show=False)


def test_an_empty_canvas_says_how_to_start_and_an_unlinked_drag_what_to_link(xeditor):
    """Issue 25 item 11: the hint is drawn on an empty canvas and goes with the first node;
    an unlinked DragOptimizer's panel names the inputs to link instead of "press Run"."""
    pump(xeditor, 2)
    assert dpg.is_item_shown(xeditor.canvas.empty_hint)
    assert dpg.get_item_rect_size(xeditor.canvas.empty_hint)[0] > 0
    drag_node = xeditor.add_node("DragOptimizer")
    pump(xeditor, 3)
    assert not dpg.is_item_shown(xeditor.canvas.empty_hint)
    texts = [
        dpg.get_item_configuration(t)["text"]
        for t in dpg.get_item_children(xeditor.panel.drawlist, 2) or []
        if "text" in dpg.get_item_configuration(t)
    ]
    assert texts == [f"link {drag_node}.generator, {drag_node}.latent (+1 more) first, then Run"]


def test_the_idle_loop_wakes_for_a_wheel_notch(display):
    """Issue 25 item 6: a notch leaves no pointer or button state to poll; the input watch
    sees it as a raw X press, so the sleeping editor draws it at once."""
    from nodegraph.editor.pacing import InputWatch

    require_xdotool()
    watch = InputWatch()
    try:
        watch.active()  # the first call only records the state
        assert not watch.active()
        xdo("click", "4")
        assert watch.active() and not watch.active()
        xdo("key", "--delay", "0", "ctrl+Return")
        assert watch.active()
    finally:
        watch.close()


def test_tab_from_export_path_stops_at_format_and_arrows_step_it(xeditor):
    """Item 11: Tab in `path` applies it and moves to the `format` dropdown (Dear PyGui's own
    Tab skips dropdowns); Down then steps the choice; Shift+Tab goes back to `path`."""
    export = xeditor.add_node("Export", pos=(40, 40), path="out.png")
    pump(xeditor, 3)
    path, fmt = _field(xeditor, export, "path"), _field(xeditor, export, "format")
    click(xeditor, *item_center(path))
    key(xeditor, "End")
    type_text(xeditor, "x")
    key(xeditor, "Tab")
    wait_until(xeditor, lambda: dpg.get_item_state(fmt)["focused"], 5, "format focused")
    quality = xeditor.params.widgets["quality"]
    assert not dpg.get_item_state(quality)["active"]  # the native Tab target gave it back
    assert xeditor.graph.params(export)["path"] == "out.pngx"
    key(xeditor, "Down")
    wait_until(xeditor, lambda: xeditor.graph.params(export)["format"] == "png", 5, "format png")
    assert dpg.get_value(fmt) == "png"  # what the dropdown shows
    key(xeditor, "shift+Tab")
    wait_until(xeditor, lambda: dpg.get_item_state(path)["active"], 5, "path active again")
    key(xeditor, "Escape")
