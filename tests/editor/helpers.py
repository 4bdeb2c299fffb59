"""Graph building for the editor tests, through the editor's own actions."""

from __future__ import annotations

import time

import dearpygui.dearpygui as dpg


def pump(editor, frames: int = 3, seconds: float = 0.0) -> None:
    """Renders frames (and keeps rendering for `seconds` when given)."""
    end = time.monotonic() + seconds
    for _ in range(frames):
        editor.frame()
    while time.monotonic() < end:
        editor.frame()


def link(editor, src: str, output: str, dst: str, input: str) -> None:
    """Drags a link from src.output to dst.input: the node editor's link callback."""
    canvas = editor.canvas
    out_attr = canvas.views[src].outputs[output]
    in_attr = canvas.views[dst].inputs[input]
    dpg.get_item_callback(canvas.tag)(canvas.tag, (out_attr, in_attr))


def param_field(editor, node: str, param: str):
    """The parameter pane's field for node.param (selecting the node shows its params)."""
    if editor.params.node != node:
        editor.select(node)
    return editor.params.widgets[param]


def set_widget(editor, node: str, param: str, value) -> None:
    """Edits a field of the parameter pane as a user would: a number or choice field's callback
    with the new value; a text field typed into and left (Enter, Tab or a click elsewhere)."""
    widget = param_field(editor, node, param)
    callback = dpg.get_item_callback(widget)
    if callback is None:
        dpg.set_value(widget, value)
        editor.params.apply_text(widget)
    else:
        callback(widget, value, dpg.get_item_user_data(widget))


def drag_graph(editor, checkpoint, steps: int = 2, with_mask: bool = False) -> dict[str, str]:
    """Generator -> Latent -> DragOptimizer(PointSet[, Mask]) built with editor actions."""
    ids = {
        "gen": editor.add_node("Generator", pos=(10, 10)),
        "latent": editor.add_node("Latent", pos=(220, 10)),
        "points": editor.add_node("PointSet", pos=(220, 260)),
        "drag": editor.add_node("DragOptimizer", pos=(430, 10)),
    }
    editor.frame()
    set_widget(editor, ids["gen"], "checkpoint", str(checkpoint))
    set_widget(editor, ids["gen"], "device", "cpu")
    set_widget(editor, ids["drag"], "steps", steps)
    set_widget(editor, ids["drag"], "preview_every", 1)
    link(editor, ids["gen"], "generator", ids["latent"], "generator")
    link(editor, ids["gen"], "generator", ids["drag"], "generator")
    link(editor, ids["latent"], "latent", ids["drag"], "latent")
    link(editor, ids["points"], "points", ids["drag"], "points")
    if with_mask:
        ids["mask"] = editor.add_node("Mask", pos=(220, 420))
        editor.frame()
        link(editor, ids["latent"], "latent", ids["mask"], "latent")
        link(editor, ids["mask"], "mask", ids["drag"], "mask")
    editor.frame()
    return ids


def wait_until(editor, condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Renders frames until `condition()` holds; fails after `timeout` seconds (no fixed sleeps:
    a loaded CI machine just takes longer)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        editor.frame()
        time.sleep(0.005)  # leave the worker thread the CPU it needs


def image_to_screen(editor, x: float, y: float) -> tuple[int, int]:
    """Screen pixel of image pixel (x, y) in the panel (the viewport sits at the screen's 0, 0)."""
    (x0, y0), _ = editor.panel_image_rect()
    z = editor.panel.zoom
    return int(x0 + (x + 0.5) * z), int(y0 + (y + 0.5) * z)


def item_center(item) -> tuple[int, int]:
    x, y = dpg.get_item_rect_min(item)
    w, h = dpg.get_item_rect_size(item)
    return int(x + w / 2), int(y + h / 2)


def widest_badges(editor, nodes=None) -> None:
    """What a run adds to the nodes at its widest: a badge beside each thumbnail (wrapped),
    under the others."""
    for node_id in nodes if nodes is not None else list(editor.canvas.views):
        thumbnailed = editor.canvas.views[node_id].thumb_texture is not None
        editor.canvas.set_status(node_id, "kept at step 41" if thumbnailed else "done 12.34 s")
