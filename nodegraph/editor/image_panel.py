"""The image panel: the selected node's image, large, with zoom; click points and paint masks.

PointSet: a click adds a handle (red), the next its target (blue); drag moves a point, right
click deletes its pair. Mask: paint (left) or erase (right) strokes; the wheel sets the radius.
Each finished gesture is one `Graph.set` call, so one undo step. The panel owns its mouse
handling: a press over the image starts a gesture that follows the pointer until release,
wherever the pointer goes (positions are clamped to the image)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg
import torch

from nodegraph.editor import pixels
from nodegraph.editor.queries import (
    Overlay,
    Source,
    editing_mode,
    image_source,
    input_image_source,
    overlay_for,
    port_of_type,
    render_graph,
    upstream_signature,
    whole,
)

if TYPE_CHECKING:
    from nodegraph.editor.host import Host

HANDLE = (235, 64, 52, 255)
TARGET = (52, 120, 235, 255)
TRACKED = (250, 210, 60, 255)
BRUSH = (120, 230, 140, 200)
ERASER = (230, 90, 90, 200)
HIT_PX = 9  # screen pixels within which a click grabs a point
LEGEND = (("handle", HANDLE), ("target", TARGET), ("tracked", TRACKED))


class ImagePanel:
    """Shows and edits the image of the editor's selected node."""

    def __init__(self, host: Host, parent: int | str, textures: int | str) -> None:
        self.editor = host
        self.textures = textures
        self.node: str | None = None
        self.mode = "view"  # view | points | mask
        self.image: torch.Tensor | None = None
        self.preview_from: str | None = None  # the running node whose preview is shown
        self.tracked: list | None = None  # handles tracked during a run, for drawing
        self.mask: torch.Tensor | None = None
        self.zoom = 4.0
        self.pending_handle: tuple[float, float] | None = None
        self.grab: tuple[int, str] | None = None  # (pair index, "handle" | "target") being dragged
        self.grab_pos: tuple[float, float] | None = None
        self.stroke: list[list[float]] | None = None
        self.stroke_mode = "add"
        self.radius = 8.0
        self.gesture = False  # a button went down over the image and is not up yet
        self._rendered: dict[tuple, torch.Tensor | None] = {}
        self._last_render: dict[tuple, torch.Tensor] = {}
        self._render_pending: tuple | None = None
        self._values_asked: str | None = None
        self._texture_size = (0, 0)
        self._texture_dirty = True
        self.fit_next = True
        self._build(parent)
        with dpg.handler_registry() as self.handlers:
            dpg.add_mouse_click_handler(callback=lambda s, button: self._on_click(button))
            dpg.add_mouse_move_handler(callback=lambda: self._on_move())
            dpg.add_mouse_release_handler(callback=lambda: self._on_release())
            dpg.add_mouse_wheel_handler(callback=lambda s, delta: self._on_wheel(delta))

    # --- layout --------------------------------------------------------------------------
    def _build(self, parent: int | str) -> None:
        with dpg.group(parent=parent) as self.root:
            self.title = dpg.add_text("Select a node to see its image", color=(220, 220, 230))
            with dpg.group(horizontal=True):
                dpg.add_text("zoom")
                self.zoom_slider = dpg.add_slider_float(
                    default_value=self.zoom, min_value=0.25, max_value=8.0, width=120, format="%.2fx",
                    callback=lambda s, v: self.set_zoom(v),
                )  # fmt: skip
                dpg.add_button(label="fit", callback=lambda: self.fit())
                with dpg.drawlist(230, 18) as self.legend:
                    for i, (name, color) in enumerate(LEGEND):
                        dpg.draw_circle((10 + 76 * i, 9), 5, color=(0, 0, 0, 255), fill=color)
                        dpg.draw_text((19 + 76 * i, 1), name, size=14, color=(190, 190, 200))
            self.hint = dpg.add_text("", color=(150, 150, 160), wrap=0)
            with dpg.group(horizontal=True, show=False) as self.points_tools:
                dpg.add_button(label="delete last pair", callback=lambda: self.delete_pair(-1))
                dpg.add_button(label="clear points", callback=lambda: self.clear_points())
            with dpg.group(horizontal=True, show=False) as self.mask_tools:
                self.mode_radio = dpg.add_radio_button(
                    ["paint", "erase"],
                    horizontal=True,
                    callback=lambda s, v: self._set_stroke_mode(v),
                )
                dpg.add_text("radius")
                self.radius_slider = dpg.add_slider_float(
                    default_value=self.radius, min_value=1, max_value=64, width=110, format="%.0f px",
                    callback=lambda s, v: self.set_radius(v),
                )  # fmt: skip
                dpg.add_button(label="reset mask", callback=lambda: self.reset_mask())
            with dpg.child_window(horizontal_scrollbar=True, border=False) as self.view:
                self.drawlist = dpg.add_drawlist(256, 256)
        self.texture = dpg.add_dynamic_texture(4, 4, pixels.blank(4), parent=self.textures)
        self._texture_size = (4, 4)

    def layout(self, width: int, height: int) -> None:
        dpg.configure_item(self.view, width=width, height=height)

    # --- what to show --------------------------------------------------------------------
    def show(self, node_id: str | None) -> None:
        """Makes `node_id` the panel's node (None = nothing) and redraws."""
        if node_id != self.node:
            self.pending_handle, self.grab, self.stroke, self.gesture = None, None, None, False
            self.node = node_id
            self.preview_from, self.tracked = None, None
            self.fit_next = True
        self.refresh()

    def refresh(self) -> None:
        """Re-reads the graph and current values; asks for a render or the node's values when
        what it shows is missing or stale."""
        g, node = self.editor.graph, self.node
        if node is not None and node not in g:
            self.node = node = None
            self.preview_from, self.tracked = None, None
        self.mode = editing_mode(g, node)
        dpg.configure_item(self.points_tools, show=self.mode == "points")
        dpg.configure_item(self.mask_tools, show=self.mode == "mask")
        dpg.set_value(self.hint, HINTS[self.mode])
        if node is None:
            dpg.set_value(self.title, "Select a node to see its image")
            self._set_image(None)
            self.redraw()
            return
        dpg.set_value(self.title, f"{node}  ({g.type_of(node).type_name})")
        if self.preview_from is None:
            self._set_image(self._source_image(node))
        mask = None
        if self.mode == "mask":
            mask = self.editor.value_of(node, port_of_type(g, node, "MASK"))
            self._ask_values_if_missing(node, mask)
        if mask is not self.mask:
            self.mask, self._texture_dirty = mask, True
        self.redraw()

    def _ask_values_if_missing(self, node: str, value: Any) -> None:
        """Asks once per state of the node's upstream for its values (e.g. a mask after undo)."""
        signature = upstream_signature(self.editor.graph, node)
        if value is None and self._values_asked != signature:
            self._values_asked = signature
            self.editor.request_values([node])

    def _source_image(self, node: str) -> torch.Tensor | None:
        """The node's image; for a node whose own image is not computed (or not current), the
        image it starts from (a drag shows its input before it has a result)."""
        g = self.editor.graph
        image = self._image_of(image_source(g, node))
        if image is None:
            before = input_image_source(g, node)
            image = self._image_of(before) if before is not None and before.node != node else None
        return image

    def _image_of(self, source: Source | None) -> torch.Tensor | None:
        g = self.editor.graph
        if source is None:
            return None
        if source.render_with is None:
            return pixels.as_image(self.editor.value_of(source.node, source.port))
        # One render per state of what the latent depends on; a failed one (None) is not
        # retried until that changes. Editing points or masks downstream renders nothing.
        key = (source.node, source.port, source.render_with, upstream_signature(g, source.node))
        if key in self._rendered:
            return self._rendered[key]
        if self._render_pending != key:
            built = render_graph(g, source)
            if built is not None:
                self._render_pending = key
                self.editor.request_render(built, key)
        return self._last_render.get((source.node, source.port))

    def rendered(self, key: tuple, image: Any, cancelled: bool = False) -> None:
        """A render asked for by `_source_image` arrived (UI thread); None when it failed. A
        cancelled one records nothing, so it is asked for again while it is still wanted."""
        if self._render_pending == key:
            self._render_pending = None
        if cancelled:
            self.refresh()
            return
        image = pixels.as_image(image)
        self._rendered = {key: image}
        if image is not None:
            self._last_render = {(key[0], key[1]): image}
        self.refresh()

    def show_preview(self, node_id: str, image: Any, tracked: list | None = None) -> None:
        """A running node's preview (the panel's node: the editor follows the run)."""
        if node_id != self.node:
            return
        image = pixels.as_image(image)
        if image is not None:
            self.preview_from = node_id
            self._set_image(image)
        if tracked is not None:
            self.tracked = [tuple(p) for p in tracked]
        self.redraw()

    def end_preview(self) -> None:
        self.preview_from, self.tracked = None, None
        self.refresh()

    def _set_image(self, image: torch.Tensor | None) -> None:
        if image is self.image:
            return
        self.image = image
        self._texture_dirty = True
        if image is None:
            return
        size = (image.shape[-1], image.shape[-2])
        if size != self._texture_size:
            old = self.texture
            self.texture = dpg.add_dynamic_texture(*size, pixels.rgba(image), parent=self.textures)
            self._texture_size = size
            dpg.delete_item(old)
            self.fit_next = True
        if self.fit_next:
            self.fit_next = False
            self.fit()

    # --- drawing -------------------------------------------------------------------------
    def fit(self) -> None:
        w, h = dpg.get_item_rect_size(self.view) if dpg.does_item_exist(self.view) else (0, 0)
        size = self.image.shape[-1] if self.image is not None else 128
        avail = min(w, h) if min(w, h) > 64 else 512
        zoom = (avail - 8) / size
        self.set_zoom(max(0.25, min(8.0, math.floor(zoom) if zoom >= 1 else zoom)))  # whole pixels

    def set_zoom(self, zoom: float) -> None:
        self.zoom = float(max(0.25, min(8.0, zoom)))
        dpg.set_value(self.zoom_slider, self.zoom)
        self.redraw()

    def overlay(self) -> Overlay:
        """The points drawn now: the node's pairs (its own, or those it consumes) and tracked
        handles from the running drag or, when current, from the node's last result."""
        g = self.editor.graph
        if self.node is None or self.mode == "mask":
            return Overlay()
        tracked = self.tracked
        if tracked is None and self.mode == "view":
            port = port_of_type(g, self.node, "POINTS")
            value = self.editor.value_of(self.node, port) if port else None
            tracked = getattr(value, "handles", None)
        return overlay_for(g, self.node, tracked)

    def redraw(self) -> None:
        dl = self.drawlist
        dpg.delete_item(dl, children_only=True)
        overlay = self.overlay()
        dpg.configure_item(self.legend, show=bool(overlay.handles or overlay.tracked))
        if self.image is None:
            dpg.configure_item(dl, width=300, height=40)
            msg = "no image yet: press Run" if self.node else ""
            dpg.draw_text((8, 8), msg, parent=dl, size=16, color=(160, 160, 170))
            return
        h, w = self.image.shape[-2:]
        z = self.zoom
        dpg.configure_item(dl, width=int(w * z), height=int(h * z))
        if self._texture_dirty:
            self._texture_dirty = False
            dpg.set_value(self.texture, pixels.rgba(self.image, self.mask))
        dpg.draw_image(self.texture, (0, 0), (w * z, h * z), parent=dl)
        self._draw_overlay(overlay)
        if self.mode == "mask" and self.stroke:
            self._draw_stroke()

    def _draw_overlay(self, overlay: Overlay) -> None:
        dl = self.drawlist
        for i, (handle, target) in enumerate(zip(overlay.handles, overlay.targets)):
            if self.mode == "points" and self.grab is not None and self.grab[0] == i:
                if self.grab_pos is not None:
                    handle, target = (
                        (self.grab_pos, target)
                        if self.grab[1] == "handle"
                        else (handle, self.grab_pos)
                    )
            hs, ts = self._screen(*handle), self._screen(*target)
            if math.dist(hs, ts) > 6:
                dpg.draw_arrow(ts, hs, color=(255, 255, 255, 220), thickness=2, size=6, parent=dl)
            dpg.draw_circle(hs, 6, color=(255, 255, 255, 255), fill=HANDLE, parent=dl)
            dpg.draw_circle(ts, 6, color=(255, 255, 255, 255), fill=TARGET, parent=dl)
        for x, y in overlay.tracked:
            dpg.draw_circle(self._screen(x, y), 5, color=(0, 0, 0, 255), fill=TRACKED, parent=dl)
        if self.mode == "points" and self.pending_handle is not None:
            ps = self._screen(*self.pending_handle)
            dpg.draw_circle(ps, 6, color=(255, 255, 255, 255), fill=HANDLE, parent=dl)
            dpg.draw_circle(ps, 11, color=HANDLE, thickness=2, parent=dl)

    def _draw_stroke(self) -> None:
        """The stroke being painted: a disc at every sampled point joined by thick segments,
        so it reads as one continuous band however fast the pointer moved."""
        dl, z = self.drawlist, self.zoom
        color = BRUSH if self.stroke_mode == "add" else ERASER
        pts = [self._screen(x, y) for x, y in self.stroke]
        r = self.radius * z
        for a, b in zip(pts, pts[1:]):
            dpg.draw_line(a, b, color=color, thickness=2 * r, parent=dl)
        for p in pts:
            dpg.draw_circle(p, r, color=color, fill=color, parent=dl)

    def _screen(self, x: float, y: float) -> tuple[float, float]:
        return ((x + 0.5) * self.zoom, (y + 0.5) * self.zoom)

    # --- mouse ---------------------------------------------------------------------------
    def mouse_image_pos(self, clamp: bool = False) -> tuple[float, float] | None:
        """The mouse in image pixels: None when it is not over the shown image, unless `clamp`
        (during a gesture), which pins it to the image's edge instead."""
        if self.image is None:
            return None
        mx, my = dpg.get_mouse_pos(local=False)
        x0, y0 = dpg.get_item_rect_min(self.drawlist)
        x, y = (mx - x0) / self.zoom - 0.5, (my - y0) / self.zoom - 0.5
        h, w = self.image.shape[-2:]
        inside = -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5
        if not clamp and not (inside and dpg.is_item_hovered(self.view)):
            return None
        x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
        return (round(x, 1), round(y, 1))

    def _on_click(self, button: int) -> None:
        if button not in (dpg.mvMouseButton_Left, dpg.mvMouseButton_Right):
            return
        pos = self.mouse_image_pos()
        if pos is not None:
            self.gesture = True
            self.press(*pos, button=0 if button == dpg.mvMouseButton_Left else 1)

    def _on_move(self) -> None:
        if self.gesture:
            pos = self.mouse_image_pos(clamp=True)
            if pos is not None:
                self.move_to(*pos)

    def _on_release(self) -> None:
        if self.gesture:
            self.gesture = False
            self.release(*(self.mouse_image_pos(clamp=True) or (None, None)))

    def _on_wheel(self, delta: float) -> None:
        if self.mouse_image_pos() is not None:
            self.wheel(delta)

    # --- gestures -> edits (image pixel coordinates) -------------------------------------
    def press(self, x: float, y: float, button: int = 0) -> None:
        """A mouse press at image pixel (x, y); button 0 = left, 1 = right."""
        x, y = whole(x), whole(y)
        if self.mode == "points":
            hit = self._hit(x, y)
            if button == 1:
                if hit is not None:
                    self.delete_pair(hit[0])
                self.pending_handle = None
            elif hit is not None:
                self.grab, self.grab_pos = hit, None
            elif self.pending_handle is None:
                self.pending_handle = (x, y)
            else:
                pair = {"handle": list(self.pending_handle), "target": [x, y]}
                self.pending_handle = None
                self._set_points(self._points_list() + [pair])
        elif self.mode == "mask":
            radio = dpg.get_value(self.mode_radio)
            self.stroke_mode = "erase" if button == 1 or radio == "erase" else "add"
            self.stroke = [[x, y]]
        self.redraw()

    def move_to(self, x: float, y: float) -> None:
        """The mouse moved to (x, y) with the button held."""
        x, y = whole(x), whole(y)
        if self.grab is not None:
            self.grab_pos = (x, y)
        elif self.stroke is not None:
            last = self.stroke[-1]
            if math.dist(last, (x, y)) >= max(0.5, self.radius / 4):
                self.stroke.append([x, y])
        else:
            return
        self.redraw()

    def release(self, x: float | None = None, y: float | None = None) -> None:
        """The button went up: a dragged point or a painted stroke becomes one graph edit (a
        click on a point that did not move it edits nothing)."""
        if x is not None and y is not None and (self.grab is not None or self.stroke is not None):
            self.move_to(x, y)
        if self.grab is not None:
            (index, which), pos = self.grab, self.grab_pos
            self.grab, self.grab_pos = None, None
            points = self._points_list()
            if pos is not None and index < len(points) and list(pos) != points[index][which]:
                points[index][which] = list(pos)
                self._set_points(points)
        elif self.stroke is not None:
            stroke = {"points": self.stroke, "radius": float(self.radius), "mode": self.stroke_mode}
            self.stroke = None
            strokes = self.editor.graph.params(self.node)["strokes"] + [stroke]
            if self.editor.set_param(self.node, strokes=strokes):
                self.editor.request_values([self.node])
        self.redraw()

    def wheel(self, delta: float) -> None:
        """Mouse wheel over the image: brush radius on a mask, else zoom."""
        if self.mode == "mask":
            self.set_radius(self.radius + (1 if delta > 0 else -1) * max(1.0, self.radius * 0.1))
        else:
            self.set_zoom(self.zoom * (1.15 if delta > 0 else 1 / 1.15))

    def set_radius(self, radius: float) -> None:
        self.radius = float(max(1.0, min(64.0, radius)))
        dpg.set_value(self.radius_slider, self.radius)

    def _set_stroke_mode(self, value: str) -> None:
        self.stroke_mode = "erase" if value == "erase" else "add"

    def _hit(self, x: float, y: float) -> tuple[int, str] | None:
        best, best_d = None, HIT_PX / self.zoom
        overlay = overlay_for(self.editor.graph, self.node, None)
        for i, (handle, target) in enumerate(zip(overlay.handles, overlay.targets)):
            for which, p in (("target", target), ("handle", handle)):
                d = math.dist(p, (x, y))
                if d <= best_d:
                    best, best_d = (i, which), d
        return best

    def _points_list(self) -> list[dict]:
        return [dict(p) for p in self.editor.graph.params(self.node)["points"]]

    def _set_points(self, points: list[dict]) -> None:
        self.editor.set_param(self.node, points=points)

    def delete_pair(self, index: int) -> None:
        points = self._points_list()
        if self.mode == "points" and points:
            del points[index]
            self._set_points(points)

    def clear_points(self) -> None:
        if self.mode == "points" and self._points_list():
            self._set_points([])

    def reset_mask(self) -> None:
        if self.mode == "mask" and self.editor.graph.params(self.node)["strokes"]:
            if self.editor.set_param(self.node, strokes=[]):
                self.editor.request_values([self.node])


HINTS = {
    "view": "",
    "points": "click: handle, then target  ·  drag a point: move it  ·  right click: delete its pair",
    "mask": "left drag: paint  ·  right drag: erase  ·  wheel: brush radius",
}
