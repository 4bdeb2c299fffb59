"""The node canvas drives the engine's Graph: add, link, refuse, unlink, params, undo."""

from __future__ import annotations

import dearpygui.dearpygui as dpg
import pytest

from tests.editor.helpers import link, param_field, set_widget

pytestmark = pytest.mark.editor


def test_adding_and_linking_nodes_edits_the_graph(editor):
    gen = editor.add_node("Generator")
    latent = editor.quick_add("laten")
    editor.frame()
    link(editor, gen, "generator", latent, "generator")
    editor.frame()
    g = editor.graph
    assert [g.type_of(n).type_name for n in g.nodes] == ["Generator", "Latent"]
    assert [str(lk) for lk in g.links] == ["generator.generator -> latent.generator"]
    assert len(editor.canvas.link_items) == 1


def test_an_invalid_link_is_refused_with_the_engines_message(editor):
    points = editor.add_node("PointSet")
    drag = editor.add_node("DragOptimizer")
    editor.frame()
    link(editor, points, "points", drag, "latent")
    editor.frame()
    assert editor.graph.links == []
    assert "gives POINTS but dragoptimizer.latent takes LATENT" in editor.status_message
    assert editor.canvas.link_items == {}


def test_ctrl_click_on_a_link_unlinks_and_undo_relinks(editor):
    gen, latent = editor.add_node("Generator"), editor.add_node("Latent")
    editor.frame()
    link(editor, gen, "generator", latent, "generator")
    editor.frame()
    (item,) = editor.canvas.link_items.values()
    dpg.get_item_configuration(editor.canvas.tag)["delink_callback"](editor.canvas.tag, item)
    editor.frame()
    assert editor.graph.links == [] and editor.canvas.link_items == {}
    editor.undo()
    editor.frame()
    assert len(editor.graph.links) == 1 and len(editor.canvas.link_items) == 1


def test_param_widgets_set_params_with_one_undo_step_each(editor):
    latent = editor.add_node("Latent")
    editor.frame()
    set_widget(editor, latent, "seed", 7)
    set_widget(editor, latent, "space", "w")
    assert editor.graph.params(latent)["seed"] == 7 and editor.graph.params(latent)["space"] == "w"
    editor.undo()
    editor.frame()
    assert editor.graph.params(latent)["space"] == "w+"
    assert dpg.get_value(param_field(editor, latent, "space")) == "w+"


def test_a_bad_param_value_shows_the_error_and_keeps_the_graph(editor):
    drag = editor.add_node("DragOptimizer")
    editor.frame()
    set_widget(editor, drag, "r1", "wide")
    assert editor.graph.params(drag)["r1"] is None
    assert "not a number" in editor.status_message
    set_widget(editor, drag, "r1", "500")
    assert editor.graph.params(drag)["r1"] is None
    assert "out of range" in editor.status_message


def test_params_show_ranges_choices_and_tooltips(editor):
    latent = editor.add_node("Latent")
    editor.frame()
    editor.select(latent)
    widgets = editor.params.widgets
    psi = dpg.get_item_configuration(widgets["truncation_psi"])
    assert (psi["min_value"], psi["max_value"]) == (0.0, 2.0)
    assert dpg.get_item_configuration(widgets["space"])["items"] == ["w+", "w"]
    tooltip_texts = [
        dpg.get_value(c) for t in dpg.get_item_children(widgets["seed"], 1) or [] for c in [t]
    ]
    assert tooltip_texts or dpg.get_item_info(
        widgets["seed"]
    )  # the tooltip is a sibling in Dear PyGui


def test_duplicate_copies_params_and_incoming_links_and_delete_removes(editor):
    gen, latent = editor.add_node("Generator"), editor.add_node("Latent", seed=3)
    editor.frame()
    link(editor, gen, "generator", latent, "generator")
    (copy,) = editor.duplicate_selected([latent])
    editor.frame()
    g = editor.graph
    assert g.params(copy)["seed"] == 3
    assert g.links_into(copy)["generator"].src == gen
    editor.undo()
    editor.frame()
    assert copy not in g and copy not in editor.canvas.views


def test_moving_a_node_and_undo(editor):
    gen = editor.add_node("Generator", pos=(10, 10))
    editor.frame()
    editor.move_nodes({gen: (300, 120)})
    editor.frame()
    assert editor.graph.pos(gen) == (300.0, 120.0)
    assert dpg.get_item_pos(editor.canvas.views[gen].item) == [300, 120]
    editor.undo()
    editor.frame()
    assert dpg.get_item_pos(editor.canvas.views[gen].item) == [10, 10]


def test_an_error_inside_a_callback_is_shown_not_raised(editor):
    def broken():
        raise RuntimeError("boom")

    editor._guarded(broken)
    assert "boom" in editor.status_message


def test_new_nodes_are_placed_inside_the_visible_canvas(editor):
    from tests.editor.helpers import pump

    for _ in range(6):
        editor.add_node("Latent")
        pump(editor, 2)
    x0, y0 = dpg.get_item_pos(editor.canvas_box)
    w, h = dpg.get_item_rect_size(editor.canvas_box)
    rects = []
    for view in editor.canvas.views.values():
        (x, y), (nw, nh) = dpg.get_item_rect_min(view.item), dpg.get_item_rect_size(view.item)
        assert x0 <= x and x + nw <= x0 + w and y0 <= y, (x, y, nw, nh)
        rects.append((x, y, nw, nh))
    assert len({(x, y) for x, y, _, _ in rects}) == len(rects)  # none on top of another


def _inside_canvas(editor, node) -> bool:
    x0, y0 = dpg.get_item_pos(editor.canvas_box)
    w, h = dpg.get_item_rect_size(editor.canvas_box)
    (x, y), (nw, nh) = (
        dpg.get_item_rect_min(editor.canvas.views[node].item),
        dpg.get_item_rect_size(editor.canvas.views[node].item),
    )
    pad = 8  # the node editor's inset in its box: a node must be inside the editor itself
    return x0 + pad <= x and y0 + pad <= y and x + nw <= x0 + w - pad and y + nh <= y0 + h - pad


def test_f_frames_far_nodes_by_moving_the_view_not_the_project(editor):
    """Issue 25 item 4: F (a real key over the canvas) brings every node into view and the
    project stays unchanged (the view moved, not the nodes)."""
    from tests.editor.helpers import item_center, pump
    from tests.editor.xinput import key, move, require_xdotool

    require_xdotool()
    a = editor.add_node("Latent", pos=(3000, 2500))
    b = editor.add_node("Generator", pos=(3300, 2500))
    editor.graph.mark_clean()
    pump(editor, 3)
    move(editor, *item_center(editor.canvas.tag))
    key(editor, "f")
    pump(editor, 3)
    assert _inside_canvas(editor, a) and _inside_canvas(editor, b)
    assert editor.graph.pos(a) == (3000.0, 2500.0) and not editor.graph.dirty
    assert " *" not in editor.title


def test_f_frames_every_node_and_link_of_two_stage(editor):
    """Issue 25 item 5: two_stage, compact nodes, after F: every node inside the canvas."""
    from pathlib import Path

    from tests.editor.helpers import item_center, pump
    from tests.editor.xinput import key, move, require_xdotool

    require_xdotool()
    assert editor.files.open(Path(__file__).parents[2] / "projects/two_stage.ngproj.json")
    pump(editor, 3)
    move(editor, *item_center(editor.canvas.tag))
    key(editor, "f")
    pump(editor, 3)
    outside = [n for n in editor.canvas.views if not _inside_canvas(editor, n)]
    assert outside == [] and not editor.graph.dirty
    assert len(editor.canvas.link_items) == len(editor.graph.links) == 9


def test_hint_and_status_fit_in_their_windows(editor, tiny_checkpoint):
    from tests.editor.helpers import drag_graph, pump

    ids = drag_graph(editor, tiny_checkpoint)
    editor.select(ids["points"])
    editor.status("x" * 400)
    pump(editor, 3)
    px, _ = dpg.get_item_pos(editor.panel_box)
    pw, _ = dpg.get_item_rect_size(editor.panel_box)
    hx, _ = dpg.get_item_rect_min(editor.panel.hint)
    hw, _ = dpg.get_item_rect_size(editor.panel.hint)
    assert dpg.get_value(editor.panel.hint) and hx + hw <= px + pw
    sx, _ = dpg.get_item_rect_min(editor.status_text)
    sw, _ = dpg.get_item_rect_size(editor.status_text)
    assert sx >= 0 and sx + sw <= dpg.get_viewport_client_width()


def test_a_node_is_sized_before_it_is_drawn_as_a_run_draws_it(editor):
    """The estimate that places a new node: never smaller than the drawn node, with the badge
    a run adds, and no more than a few pixels larger (every node type)."""
    from nodegraph.editor import queries
    from tests.editor.helpers import pump, widest_badges

    for type_name in sorted(editor.graph.registry.types()):
        node = editor.add_node(type_name)
        pump(editor, 3)
        cls = editor.graph.type_of(node)
        width, height = queries.estimated_size(cls, queries.node_title(node, cls.type_name))
        widest_badges(editor, [node])
        pump(editor, 3)
        drawn_w, drawn_h = editor.canvas.node_sizes()[node]
        assert drawn_w <= width <= drawn_w + 50 and drawn_h <= height <= drawn_h + 2, type_name


def test_a_new_node_goes_where_it_hides_no_node_even_a_tall_one(editor):
    """A DragOptimizer (323 px tall) added by the Add menu's path: the first free place for a
    170 px node lies above a Latent, so a fixed-size guess put the drag over it."""
    from nodegraph.editor import queries
    from tests.editor.helpers import pump

    x, y = editor.canvas.free_position("Latent")  # the first place tried, on an empty canvas
    editor.add_node("Latent", pos=(x, y + 200))
    pump(editor, 3)
    drag = editor.add_node("DragOptimizer")
    pump(editor, 3)
    assert editor.graph.pos(drag) != (x, y)
    assert queries.overlapping(editor.canvas.node_rects()) == []
