"""The image panel: the selected node's image, large, with zoom; click points and paint masks.

PointSet: a click adds a handle (red), the next its target (blue); drag moves a point, right
click deletes its pair. Mask: paint (left) or erase (right) strokes; the wheel sets the radius.
Each finished gesture is one `Graph.set` call, so one undo step."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg
import torch

from nodegraph import Graph
from nodegraph.editor import pixels

if TYPE_CHECKING:
    from nodegraph.editor.app import Editor

HANDLE = (235, 64, 52, 255)
TARGET = (52, 120, 235, 255)
TRACKED = (250, 210, 60, 255)
BRUSH = (120, 230, 140, 200)
HIT_PX = 9  # screen pixels within which a click grabs a point


@dataclass
class Source:
    """Where the panel's image comes from: an IMAGE output, or a LATENT output to render."""

    node: str
    port: str
    render_with: tuple[str, str] | None = None  # the GENERATOR output to render the latent with


def image_source(g: Graph, node_id: str) -> Source | None:
    """The image relevant to `node_id`: its own IMAGE output, else the image its consumer edits
    (the consumer's LATENT input: an upstream IMAGE beside it, or that latent rendered)."""
    cls = g.type_of(node_id)
    own = next((o.name for o in cls.outputs if o.type == "IMAGE"), None)
    if own is not None:
        return Source(node_id, own)
    latent = next((o.name for o in cls.outputs if o.type == "LATENT"), None)
    if latent is not None:
        gen = _generator_feeding(g, node_id)
        return Source(node_id, latent, gen) if gen else None
    for link in g.links_from(node_id):
        feeds = g.links_into(link.dst)
        dst_cls = g.type_of(link.dst)
        for decl in dst_cls.inputs:
            if decl.type == "LATENT" and decl.name in feeds:
                upstream = feeds[decl.name]
                up_cls = g.type_of(upstream.src)
                image = next((o.name for o in up_cls.outputs if o.type == "IMAGE"), None)
                if image is not None:
                    return Source(upstream.src, image)
                gen = _generator_feeding(g, link.dst) or _generator_feeding(g, upstream.src)
                return Source(upstream.src, upstream.output, gen) if gen else None
    for decl in cls.inputs:  # e.g. a Mask with its size from a linked image
        link = g.links_into(node_id).get(decl.name)
        if link is not None and decl.type in ("IMAGE", "LATENT"):
            return image_source(g, link.src)
    return None


def _generator_feeding(g: Graph, node_id: str) -> tuple[str, str] | None:
    cls = g.type_of(node_id)
    for decl in cls.inputs:
        link = g.links_into(node_id).get(decl.name)
        if decl.type == "GENERATOR" and link is not None:
            return (link.src, link.output)
    return None


def upstream_of(g: Graph, node_id: str) -> set[str]:
    """`node_id` and every node it depends on."""
    seen, todo = set(), [node_id]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(link.src for link in g.links_into(n).values())
    return seen


def render_graph(g: Graph, source: Source) -> tuple[Graph, str, str] | None:
    """A scratch graph that renders `source`'s latent: copies of its upstream nodes plus a node
    type that takes (GENERATOR, LATENT) and gives IMAGE. It shares `g`'s cache, so the copies'
    results come from there (fingerprints do not depend on node ids)."""
    renderer = next(
        (
            cls
            for cls in g.registry.types().values()
            if sorted(i.type for i in cls.inputs if not i.optional) == ["GENERATOR", "LATENT"]
            and any(o.type == "IMAGE" for o in cls.outputs)
        ),
        None,
    )
    if renderer is None or source.render_with is None:
        return None
    scratch = Graph(registry=g.registry, cache=g.cache)
    scratch.path, scratch.base_dir = g.path, g.base_dir
    needed = upstream_of(g, source.node) | upstream_of(g, source.render_with[0])
    for node_id in needed:
        scratch.add(g.type_of(node_id), id=node_id, **g.params(node_id))
    for link in g.links:
        if link.dst in needed:
            scratch.connect(link.src, link.output, link.dst, link.input)
    render_id = scratch.add(renderer, id="editor_render_preview")
    ins = {i.type: i.name for i in renderer.inputs}
    scratch.connect(source.render_with[0], source.render_with[1], render_id, ins["GENERATOR"])
    scratch.connect(source.node, source.port, render_id, ins["LATENT"])
    out = next(o.name for o in renderer.outputs if o.type == "IMAGE")
    return scratch, str(render_id), out


class ImagePanel:
    """Shows and edits the image of the editor's selected node."""

    def __init__(self, editor: Editor, parent: int | str, textures: int | str) -> None:
        self.editor = editor
        self.textures = textures
        self.node: str | None = None
        self.mode = "view"  # view | points | mask
        self.image: torch.Tensor | None = None
        self.preview_from: str | None = None  # the running node whose preview is shown
        self.tracked: list | None = None  # handles tracked during a drag, for drawing
        self.mask: torch.Tensor | None = None
        self.zoom = 4.0
        self.pending_handle: tuple[float, float] | None = None
        self.grab: tuple[int, str] | None = None  # (pair index, "handle" | "target") being dragged
        self.grab_pos: tuple[float, float] | None = None
        self.stroke: list[list[float]] | None = None
        self.stroke_mode = "add"
        self.radius = 8.0
        self._rendered: dict[tuple, torch.Tensor | None] = {}
        self._last_render: dict[tuple, torch.Tensor] = {}
        self._render_pending: tuple | None = None
        self._texture_size = 0
        self.fit_next = True
        self._build(parent)

    # --- layout --------------------------------------------------------------------------
    def _build(self, parent: int | str) -> None:
        with dpg.group(parent=parent) as self.root:
            with dpg.group(horizontal=True):
                self.title = dpg.add_text("Select a node to see its image", color=(220, 220, 230))
            with dpg.group(horizontal=True):
                dpg.add_text("zoom")
                self.zoom_slider = dpg.add_slider_float(
                    default_value=self.zoom, min_value=0.25, max_value=8.0, width=120, format="%.2fx",
                    callback=lambda s, v: self.set_zoom(v),
                )  # fmt: skip
                dpg.add_button(label="fit", callback=lambda: self.fit())
                self.hint = dpg.add_text("", color=(150, 150, 160))
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
        self._texture_size = 4

    def layout(self, width: int, height: int) -> None:
        dpg.configure_item(self.view, width=width, height=height)

    # --- what to show --------------------------------------------------------------------
    def show(self, node_id: str | None) -> None:
        """Makes `node_id` the panel's node (None = nothing) and redraws."""
        if node_id != self.node:
            self.pending_handle, self.grab, self.stroke = None, None, None
            self.node = node_id
            self.preview_from, self.tracked = None, None
            self.fit_next = True
        self.refresh()

    def refresh(self) -> None:
        """Re-reads the graph and cached values; asks for a render when the image is missing."""
        g, node = self.editor.graph, self.node
        if node is not None and node not in g:
            self.node = node = None
        self.mode = self._mode_of(node) if node else "view"
        dpg.configure_item(self.points_tools, show=self.mode == "points")
        dpg.configure_item(self.mask_tools, show=self.mode == "mask")
        dpg.set_value(self.hint, HINTS[self.mode])
        if node is None:
            dpg.set_value(self.title, "Select a node to see its image")
            self._set_image(None)
            return
        dpg.set_value(self.title, f"{node}  ({g.type_of(node).type_name})")
        if self.preview_from is None:
            self._set_image(self._source_image(g, node))
        if self.mode == "mask":
            mask_port = next(o.name for o in g.type_of(node).outputs if o.type == "MASK")
            self.mask = self.editor.value_of(node, mask_port)
            if self.mask is None:
                self.editor.request_values([node])
        else:
            self.mask = None
        self.redraw()

    def _mode_of(self, node: str) -> str:
        cls = self.editor.graph.type_of(node)
        outputs = {o.type for o in cls.outputs}
        if "POINTS" in outputs and cls.param("points") is not None:
            return "points"
        if "MASK" in outputs and cls.param("strokes") is not None:
            return "mask"
        return "view"

    def _source_image(self, g: Graph, node: str) -> torch.Tensor | None:
        source = image_source(g, node)
        if source is None:
            return None
        if source.render_with is None:
            return pixels.as_image(self.editor.value_of(source.node, source.port))
        # One render per graph revision; a failed one (None) is not retried until the graph changes.
        key = (source.node, source.port, source.render_with, g.revision)
        if key in self._rendered:
            return self._rendered[key]
        if self._render_pending != key:
            built = render_graph(g, source)
            if built is not None:
                self._render_pending = key
                self.editor.request_render(built, key)
        return self._last_render.get((source.node, source.port))

    def rendered(self, key: tuple, image: Any) -> None:
        """A render asked for by `_source_image` arrived (UI thread); None when it failed."""
        if self._render_pending == key:
            self._render_pending = None
        image = pixels.as_image(image)
        self._rendered = {key: image}
        if image is not None:
            self._last_render = {(key[0], key[1]): image}
        self.refresh()

    def show_preview(self, node_id: str, image: Any, tracked: list | None = None) -> None:
        """A running node's preview: shown when it is the panel's node or is fed by it."""
        if self.node is None or not self._related(node_id):
            return
        image = pixels.as_image(image)
        if image is not None:
            self.preview_from = node_id
            self._set_image(image)
        if tracked is not None:
            self.tracked = tracked
        self.redraw()

    def end_preview(self) -> None:
        self.preview_from, self.tracked = None, None
        self.refresh()

    def _related(self, node_id: str) -> bool:
        g = self.editor.graph
        return node_id == self.node or any(link.dst == node_id for link in g.links_from(self.node))

    def _set_image(self, image: torch.Tensor | None) -> None:
        self.image = image
        if image is None:
            dpg.set_value(self.texture, pixels.blank(self._texture_size))
            return
        size = image.shape[-1]
        if size != self._texture_size or image.shape[-2] != size:
            old = self.texture
            self.texture = dpg.add_dynamic_texture(
                image.shape[-1], image.shape[-2], pixels.rgba(image), parent=self.textures
            )
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

    def redraw(self) -> None:
        dl = self.drawlist
        dpg.delete_item(dl, children_only=True)
        if self.image is None:
            dpg.configure_item(dl, width=300, height=40)
            msg = "no image yet: press Run" if self.node else ""
            dpg.draw_text((8, 8), msg, parent=dl, size=16, color=(160, 160, 170))
            return
        h, w = self.image.shape[-2:]
        z = self.zoom
        dpg.configure_item(dl, width=int(w * z), height=int(h * z))
        dpg.set_value(
            self.texture, pixels.rgba(self.image, self.mask if self.mode == "mask" else None)
        )
        dpg.draw_image(self.texture, (0, 0), (w * z, h * z), parent=dl)
        if self.mode == "points":
            self._draw_pairs(self._points_param(), editable=True)
        elif self.mode == "view":
            self._draw_pairs(self._points_output(), editable=False)
        if self.tracked:
            for x, y in self.tracked:
                dpg.draw_circle(
                    self._screen(x, y), 5, color=(0, 0, 0, 255), fill=TRACKED, parent=dl
                )
        if self.mode == "mask" and self.stroke:
            pts = [self._screen(x, y) for x, y in self.stroke]
            color = BRUSH if self.stroke_mode == "add" else (230, 90, 90, 200)
            dpg.draw_polyline(pts, color=color, thickness=2 * self.radius * z, parent=dl)
            for p in pts[:: max(1, len(pts) - 1)]:
                dpg.draw_circle(p, self.radius * z, color=color, fill=color, parent=dl)

    def _draw_pairs(self, pairs: list[tuple[tuple, tuple]], editable: bool) -> None:
        dl = self.drawlist
        for i, (handle, target) in enumerate(pairs):
            if (
                editable
                and self.grab is not None
                and self.grab[0] == i
                and self.grab_pos is not None
            ):
                handle, target = (
                    (self.grab_pos, target) if self.grab[1] == "handle" else (handle, self.grab_pos)
                )
            hs, ts = self._screen(*handle), self._screen(*target)
            if math.dist(hs, ts) > 6:
                dpg.draw_arrow(ts, hs, color=(255, 255, 255, 220), thickness=2, size=6, parent=dl)
            dpg.draw_circle(hs, 6, color=(255, 255, 255, 255), fill=HANDLE, parent=dl)
            dpg.draw_circle(ts, 6, color=(255, 255, 255, 255), fill=TARGET, parent=dl)
        if editable and self.pending_handle is not None:
            ps = self._screen(*self.pending_handle)
            dpg.draw_circle(ps, 6, color=(255, 255, 255, 255), fill=HANDLE, parent=dl)
            dpg.draw_circle(ps, 11, color=HANDLE, thickness=2, parent=dl)

    def _screen(self, x: float, y: float) -> tuple[float, float]:
        return ((x + 0.5) * self.zoom, (y + 0.5) * self.zoom)

    def _points_param(self) -> list[tuple[tuple, tuple]]:
        points = self.editor.graph.params(self.node).get("points", [])
        return [(tuple(p["handle"]), tuple(p["target"])) for p in points]

    def _points_output(self) -> list[tuple[tuple, tuple]]:
        g = self.editor.graph
        port = next((o.name for o in g.type_of(self.node).outputs if o.type == "POINTS"), None)
        value = self.editor.value_of(self.node, port) if port else None
        handles, targets = getattr(value, "handles", None), getattr(value, "targets", None)
        return list(zip(handles, targets)) if handles and targets else []

    # --- mouse -> edits (image pixel coordinates) ----------------------------------------
    def mouse_image_pos(self) -> tuple[float, float] | None:
        """The mouse in image pixels when it is over the shown image, else None."""
        if self.image is None or not dpg.is_item_hovered(self.view):
            return None
        mx, my = dpg.get_mouse_pos(local=False)
        x0, y0 = dpg.get_item_rect_min(self.drawlist)
        x, y = (mx - x0) / self.zoom - 0.5, (my - y0) / self.zoom - 0.5
        h, w = self.image.shape[-2:]
        if not (-0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5):
            return None
        return (round(x, 1), round(y, 1))

    def press(self, x: float, y: float, button: int = 0) -> None:
        """A mouse press at image pixel (x, y); button 0 = left, 1 = right."""
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
            self.stroke_mode = (
                "erase"
                if button == 1
                else dpg.get_value(self.mode_radio) == "erase" and "erase" or "add"
            )
            self.stroke = [[x, y]]
        self.redraw()

    def move_to(self, x: float, y: float) -> None:
        """The mouse moved to (x, y) with the button held."""
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
        """The button went up: a dragged point or a painted stroke becomes one graph edit."""
        if x is not None and y is not None and (self.grab is not None or self.stroke is not None):
            self.move_to(x, y)
        if self.grab is not None:
            (index, which), pos = self.grab, self.grab_pos
            self.grab, self.grab_pos = None, None
            if pos is not None:
                points = self._points_list()
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
        for i, (handle, target) in enumerate(self._points_param()):
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
    "points": "click: handle, then target  ·  drag: move  ·  right click: delete",
    "mask": "left: paint  ·  right: erase  ·  wheel: radius",
}
