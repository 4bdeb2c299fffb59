"""The image panel: the selected node's image, large, with zoom; click points and paint masks.

A param with a PairsEditor (nodegraph.views; e.g. a point set's handles and targets): a click
adds a first point (red), the next its second (blue); drag moves a point, right click deletes
its pair. A param with a BrushEditor (e.g. a mask): paint (left) or erase (right) strokes; the
wheel sets the radius.
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
    edited_param,
    editing_mode,
    image_source,
    input_image_source,
    missing_inputs,
    output_with_role,
    overlay_for,
    pairs_feeding,
    render_graph,
    upstream_signature,
    whole,
)
from nodegraph.views import port_view

if TYPE_CHECKING:
    from nodegraph.editor.host import Host

FIRST = (235, 64, 52, 255)  # a pair's first point (a drag's handle)
SECOND = (52, 120, 235, 255)  # its second (the target)
TRACKED = (250, 210, 60, 255)
BRUSH = (120, 230, 140, 200)
ERASER = (230, 90, 90, 200)
HIT_PX = 9  # screen pixels within which a click grabs a point
ARROW_GAP = 7  # screen pixels between a pair's arrowhead and its target's centre
LEGEND_COLORS = (FIRST, SECOND, TRACKED)


class ImagePanel:
    """Shows and edits the image of the editor's selected node."""

    def __init__(self, host: Host, parent: int | str, textures: int | str) -> None:
        self.editor = host
        self.textures = textures
        self.node: str | None = None
        self.mode = "view"  # view | pairs | brush (queries.editing_mode)
        self.image: torch.Tensor | None = None
        self.preview_from: str | None = None  # the running node whose preview is shown
        self.tracked: list | None = None  # handles tracked during a run, for drawing
        self.mask: torch.Tensor | None = None
        # A frame of the node's film the scrubber shows instead of the node's image:
        # (image, handles, targets) of that frame (nodegraph/editor/scrubber.py).
        self.film_frame: tuple[torch.Tensor, list, list] | None = None
        self.zoom = 4.0
        self.pending_handle: tuple[float, float] | None = None  # a first point awaiting its second
        self.grab: tuple[int, int] | None = (
            None  # (pair index, 0 = first | 1 = second) being dragged
        )
        self.grab_pos: tuple[float, float] | None = None
        self.stroke: list[list[float]] | None = None
        self.erasing = False
        self.radius = 8.0
        self.stand_in: tuple[str, str, torch.Tensor] | None = None  # (node, signature, image)
        self.brush_at: tuple[float, float] | None = None  # the pointer over the image, brushing
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
                self.legend = dpg.add_drawlist(230, 18)
            self.hint = dpg.add_text("", color=(150, 150, 160), wrap=0)
            with dpg.group(horizontal=True, show=False) as self.pairs_tools:
                dpg.add_button(label="delete last pair", callback=lambda: self.delete_pair(-1))
                dpg.add_button(label="clear points", callback=lambda: self.clear_points())
            with dpg.group(horizontal=True, show=False) as self.brush_tools:
                self.mode_radio = dpg.add_radio_button(
                    ["paint", "erase"],
                    horizontal=True,
                    callback=lambda s, v: self._set_stroke_mode(v),
                )
                dpg.add_text("radius")
                self.radius_slider = dpg.add_slider_float(
                    default_value=self.radius, min_value=1, max_value=64, width=110, format="%.0f px",
                    callback=lambda s, v: self.set_radius(v), clamped=True,
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
            self.film_frame = None
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
        dpg.configure_item(self.pairs_tools, show=self.mode == "pairs")
        dpg.configure_item(self.brush_tools, show=self.mode == "brush")
        dpg.set_value(self.hint, self._hint())
        self._draw_legend()
        if node is None:
            dpg.set_value(self.title, "Select a node to see its image")
            self._set_image(None)
            self.redraw()
            return
        shown_png = self._stand_in_for(node) is not None and self.image is self.stand_in[2]
        note = "  - the opened PNG; Run recomputes it" if shown_png else ""
        dpg.set_value(self.title, f"{node}  ({g.type_of(node).type_name}){note}")
        if self.preview_from is None:
            frame = self.film_frame[0] if self.film_frame is not None else None
            self._set_image(frame if frame is not None else self._source_image(node))
        mask = None
        if self.mode == "brush":
            mask = self.editor.value_of(node, output_with_role(g, node, "region"))
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
        if image is None and self._stand_in_for(node) is not None:
            return self._stand_in_for(node)
        if image is None:
            before = input_image_source(g, node)
            image = self._image_of(before) if before is not None and before.node != node else None
        return image

    def set_stand_in(self, node: str | None, image: Any) -> None:
        """An image to show for `node` until it has a value of its own: the PNG a project was
        opened from (what the node gave when that PNG was written). Gone once anything the
        node depends on is edited."""
        image = pixels.as_image(image)
        if node is None or image is None or node not in self.editor.graph:
            self.stand_in = None
            return
        self.stand_in = (node, upstream_signature(self.editor.graph, node), image)

    def _stand_in_for(self, node: str) -> torch.Tensor | None:
        if self.stand_in is None or self.stand_in[0] != node:
            return None
        if self.stand_in[1] != upstream_signature(self.editor.graph, node):
            self.stand_in = None
            return None
        return self.stand_in[2]

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

    def show_frame(self, image: Any, handles: list, targets: list) -> None:
        """A frame of the node's film (the scrubber): its image, with its handles and targets."""
        image = pixels.as_image(image)
        if image is None:
            return
        self.film_frame = (image, list(handles), list(targets))
        if self.preview_from is None:
            self._set_image(image)
        self.redraw()

    def end_frame(self) -> None:
        """Back to the node's own image (the scrubber has no film, or a new one)."""
        if self.film_frame is not None:
            self.film_frame = None
            self.refresh()

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
        if self.node is None or self.mode == "brush":
            return Overlay()
        if self.film_frame is not None and self.preview_from is None:
            _, handles, targets = self.film_frame
            return Overlay(handles=list(handles), targets=list(targets))
        tracked = self.tracked
        if tracked is None and self.mode == "view":
            port = output_with_role(g, self.node, "pairs")
            value = self.editor.value_of(self.node, port) if port else None
            if value is not None:
                pairs_of = port_view(g.type_of(self.node).output(port).type).pairs
                tracked = pairs_of(value)[0] if pairs_of is not None else None
        return overlay_for(g, self.node, tracked)

    def redraw(self) -> None:
        dl = self.drawlist
        dpg.delete_item(dl, children_only=True)
        overlay = self.overlay()
        dpg.configure_item(self.legend, show=bool(overlay.handles or overlay.tracked))
        if self.image is None:
            dpg.configure_item(dl, width=300, height=40)
            msg = self._no_image_message()
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
        if self.mode == "brush" and self.stroke:
            self._draw_stroke()
        if self.mode == "brush" and self.brush_at is not None:
            self._draw_brush_outline()

    def _no_image_message(self) -> str:
        """Why there is no image: what to link first, else that a Run makes it."""
        if self.node is None or self.node not in self.editor.graph:
            return ""
        missing = missing_inputs(self.editor.graph, self.node)
        if missing:
            more = f" (+{len(missing) - 2} more)" if len(missing) > 2 else ""
            return f"link {', '.join(missing[:2])}{more} first, then Run"
        return "no image yet: press Run"

    def _draw_legend(self) -> None:
        """The colours of first points, second points and tracked points, named as the param
        the pairs come from names them (e.g. handle, target)."""
        dpg.delete_item(self.legend, children_only=True)
        source = self.node if self.mode == "pairs" else None
        if source is None and self.node is not None:
            source = pairs_feeding(self.editor.graph, self.node)
        param = edited_param(self.editor.graph, source) if source is not None else None
        if param is None:
            return
        names = (param.editor.first, param.editor.second, "tracked")
        for i, (name, color) in enumerate(zip(names, LEGEND_COLORS)):
            dpg.draw_circle(
                (10 + 76 * i, 9), 5, color=(0, 0, 0, 255), fill=color, parent=self.legend
            )
            dpg.draw_text(
                (19 + 76 * i, 1), name, size=14, color=(190, 190, 200), parent=self.legend
            )

    def _draw_overlay(self, overlay: Overlay) -> None:
        dl = self.drawlist
        for i, (handle, target) in enumerate(zip(overlay.handles, overlay.targets)):
            if self.mode == "pairs" and self.grab is not None and self.grab[0] == i:
                if self.grab_pos is not None:
                    handle, target = (
                        (self.grab_pos, target) if self.grab[1] == 0 else (handle, self.grab_pos)
                    )
            hs, ts = self._screen(*handle), self._screen(*target)
            length = math.dist(hs, ts)
            if length > 2 * ARROW_GAP:  # the head stops at the target's disc, so it shows
                ux, uy = (ts[0] - hs[0]) / length, (ts[1] - hs[1]) / length
                tip = (ts[0] - ux * ARROW_GAP, ts[1] - uy * ARROW_GAP)
                dpg.draw_arrow(tip, hs, color=(255, 255, 255, 235), thickness=2, size=8, parent=dl)
            dpg.draw_circle(hs, 6, color=(255, 255, 255, 255), fill=FIRST, parent=dl)
            dpg.draw_circle(ts, 6, color=(255, 255, 255, 255), fill=SECOND, parent=dl)
        for x, y in overlay.tracked:
            dpg.draw_circle(self._screen(x, y), 5, color=(0, 0, 0, 255), fill=TRACKED, parent=dl)
        if self.mode == "pairs" and self.pending_handle is not None:
            ps = self._screen(*self.pending_handle)
            dpg.draw_circle(ps, 6, color=(255, 255, 255, 255), fill=FIRST, parent=dl)
            dpg.draw_circle(ps, 11, color=FIRST, thickness=2, parent=dl)

    def _draw_stroke(self) -> None:
        """The stroke being painted: a disc at every sampled point joined by thick segments,
        so it reads as one continuous band however fast the pointer moved."""
        dl, z = self.drawlist, self.zoom
        color = ERASER if self.erasing else BRUSH
        pts = [self._screen(x, y) for x, y in self.stroke]
        r = self.radius * z
        for a, b in zip(pts, pts[1:]):
            dpg.draw_line(a, b, color=color, thickness=2 * r, parent=dl)
        for p in pts:
            dpg.draw_circle(p, r, color=color, fill=color, parent=dl)

    def _draw_brush_outline(self) -> None:
        """The brush under the pointer: a black and a white ring of the radius, seen on any
        image, so the user sees what a press will paint."""
        centre, r = self._screen(*self.brush_at), self.radius * self.zoom
        dpg.draw_circle(centre, r + 1, color=(0, 0, 0, 230), thickness=1.5, parent=self.drawlist)
        dpg.draw_circle(centre, r, color=(255, 255, 255, 240), thickness=1.5, parent=self.drawlist)

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
                self.brush_at = pos if self.mode == "brush" else None
                self.move_to(*pos)
        elif self.mode == "brush":
            pos = self.mouse_image_pos()
            if pos != self.brush_at:
                self.brush_at = pos
                self.redraw()

    def _on_release(self) -> None:
        if self.gesture:
            self.gesture = False
            self.release(*(self.mouse_image_pos(clamp=True) or (None, None)))

    def _on_wheel(self, delta: float) -> None:
        if self.mouse_image_pos() is not None:
            self.wheel(delta)
            self.redraw()  # drawn this frame, not when the pointer next moves

    # --- gestures -> edits (image pixel coordinates) -------------------------------------
    def press(self, x: float, y: float, button: int = 0) -> None:
        """A mouse press at image pixel (x, y); button 0 = left, 1 = right."""
        x, y = whole(x), whole(y)
        if self.mode == "pairs":
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
                pair = self._editor().pair(self.pending_handle, (x, y))
                self.pending_handle = None
                self._set_pairs(self._pairs_list() + [pair])
        elif self.mode == "brush":
            self.erasing = button == 1 or dpg.get_value(self.mode_radio) == "erase"
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
            pairs, editor = self._pairs_list(), self._editor()
            key = editor.first if which == 0 else editor.second
            if pos is not None and index < len(pairs) and list(pos) != pairs[index][key]:
                pairs[index][key] = list(pos)
                self._set_pairs(pairs)
        elif self.stroke is not None:
            stroke = self._editor().stroke(self.stroke, float(self.radius), self.erasing)
            self.stroke = None
            param = edited_param(self.editor.graph, self.node)
            strokes = self.editor.graph.params(self.node)[param.name] + [stroke]
            if self.editor.set_param(self.node, **{param.name: strokes}):
                self.editor.request_values([self.node])
        self.redraw()

    def wheel(self, delta: float) -> None:
        """Mouse wheel over the image: brush radius when painting, else zoom. `delta` counts
        notches (several in one frame are several steps), each a step of 10 % (at least 1 px)."""
        notches = int(round(delta)) or (1 if delta > 0 else -1)
        for _ in range(abs(notches)):
            up = notches > 0
            if self.mode == "brush":
                step = max(1, round(self.radius * 0.1))
                self.set_radius(self.radius + (step if up else -step))
            else:
                self.set_zoom(self.zoom * (1.15 if up else 1 / 1.15))

    def set_radius(self, radius: float) -> None:
        """Whole pixels, as the slider shows them (a stroke saves the radius it shows)."""
        self.radius = float(max(1, min(64, round(radius))))
        dpg.set_value(self.radius_slider, self.radius)
        if self.brush_at is not None:
            self.redraw()  # the outline takes the new radius now

    def _set_stroke_mode(self, value: str) -> None:
        self.erasing = value == "erase"

    def _hit(self, x: float, y: float) -> tuple[int, str] | None:
        best, best_d = None, HIT_PX / self.zoom
        overlay = overlay_for(self.editor.graph, self.node, None)
        for i, (handle, target) in enumerate(zip(overlay.handles, overlay.targets)):
            for which, p in ((1, target), (0, handle)):
                d = math.dist(p, (x, y))
                if d <= best_d:
                    best, best_d = (i, which), d
        return best

    def _editor(self) -> Any:
        """The PairsEditor or BrushEditor of the param this node's panel edits."""
        return edited_param(self.editor.graph, self.node).editor

    def _pairs_list(self) -> list[dict]:
        param = edited_param(self.editor.graph, self.node)
        return [dict(p) for p in self.editor.graph.params(self.node)[param.name]]

    def _set_pairs(self, pairs: list[dict]) -> None:
        self.editor.set_param(self.node, **{edited_param(self.editor.graph, self.node).name: pairs})

    def delete_pair(self, index: int) -> None:
        pairs = self._pairs_list() if self.mode == "pairs" else []
        if pairs:
            del pairs[index]
            self._set_pairs(pairs)

    def clear_points(self) -> None:
        if self.mode == "pairs" and self._pairs_list():
            self._set_pairs([])

    def reset_mask(self) -> None:
        param = edited_param(self.editor.graph, self.node) if self.mode == "brush" else None
        if param is not None and self.editor.graph.params(self.node)[param.name]:
            if self.editor.set_param(self.node, **{param.name: []}):
                self.editor.request_values([self.node])

    def _hint(self) -> str:
        if self.mode == "pairs":
            editor = self._editor()
            return f"click: {editor.first}, then {editor.second}  ·  drag a point: move it  ·  right click: delete its pair"
        if self.mode == "brush":
            return "left drag: paint  ·  right drag: erase  ·  wheel: brush radius"
        return ""
