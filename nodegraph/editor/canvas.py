"""The node canvas: a Dear PyGui node editor that mirrors the engine's Graph, each node compact:
title, pins, a one-line summary of its params, a thumbnail (params are edited in the pane).

Every user gesture becomes one call of the public Graph API (through the Host); the canvas
re-reads the graph in `sync()` after any change, so undo, scripts and files all show up. It owns
its mouse handling: node moves and selection are read when a button goes up over it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg
import numpy as np

from nodegraph import Link
from nodegraph.editor import pixels
from nodegraph.editor.queries import (
    estimated_size,
    fit_offset,
    fits,
    free_spot,
    has_thumbnail,
    node_summary,
    node_title,
    overlapping,
    roomiest_layout,
)
from nodegraph.editor.tips import tip
from nodegraph.views import port_view

if TYPE_CHECKING:
    from nodegraph.editor.host import Host

THUMB = 56
NODE_WIDTH, CHAR_PX = 130, 8.6  # output labels are right-aligned to about this width
BOX_PADDING = 8  # Dear PyGui's window padding: the node editor's inset in its child window
EMPTY_HINT = (
    "An empty graph. Press Tab over the canvas to add a node by name, use the Add menu, or "
    "File > New from starter for a ready graph. Help > Shortcuts lists the keys."
)


@dataclass
class NodeView:
    """The Dear PyGui items of one graph node."""

    node_id: str
    type_name: str
    item: int
    inputs: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)
    summary: int | None = None
    shown_summary: str = ""
    thumb: int | None = None
    pos: tuple[float, float] = (0.0, 0.0)
    thumb_texture: int | None = None
    progress: int | None = None
    status: int | None = None


class Canvas:
    """Builds and updates node items; turns link, delink and widget callbacks into graph edits."""

    def __init__(self, host: Host, parent: int | str, textures: int | str) -> None:
        self.editor = host
        self.parent = parent
        self.textures = textures
        self.tag = dpg.add_node_editor(
            parent=parent,
            callback=self._on_link,
            delink_callback=self._on_delink,
            minimap=True,
            minimap_location=dpg.mvNodeMiniMap_Location_BottomLeft,
            width=-1,
            height=-1,
        )
        self.empty_hint = dpg.add_text(
            EMPTY_HINT, parent=parent, pos=(30, 40), color=(170, 170, 185), wrap=420
        )
        self.views: dict[str, NodeView] = {}
        self.link_items: dict[Link, int] = {}
        self.ports: dict[
            int, tuple[str, str, str]
        ] = {}  # attribute item -> (node, "in"|"out", port)
        self._pin_themes: dict[str, int] = {}
        self._shown: str | None = None
        self.last_layout: list = []
        self.offset = (0.0, 0.0)  # grid position of a node minus its graph position (F moves it)
        self._shown_theme_id: int | None = None
        self._selection: list[str] = []
        self._pressed_here = False  # the last button press was over the canvas
        with dpg.handler_registry() as self.handlers:
            dpg.add_mouse_click_handler(callback=lambda: self._on_press())
            dpg.add_mouse_release_handler(callback=lambda: self._on_release())

    @property
    def graph(self):
        return self.editor.graph

    # --- graph -> view -------------------------------------------------------------------
    def rebuild(self) -> None:
        for node_id in list(self.views):
            self._drop(node_id)
        self.offset = (0.0, 0.0)
        self.sync()

    def sync(self) -> None:
        """Makes the items match the graph: nodes, params, positions and links."""
        g = self.graph
        ids = {str(n) for n in g.nodes}
        for node_id in list(self.views):
            if node_id not in ids or self.views[node_id].type_name != g.type_of(node_id).type_name:
                self._drop(node_id)
        for node_id in ids:
            if node_id not in self.views:
                self._build(node_id)
            else:
                self._update(node_id)
        dpg.configure_item(self.empty_hint, show=not ids)
        links = set(g.links)
        for link in list(self.link_items):
            if link not in links:
                dpg.delete_item(self.link_items.pop(link))
        for link in links - self.link_items.keys():
            view_src, view_dst = self.views[link.src], self.views[link.dst]
            self.link_items[link] = dpg.add_node_link(
                view_src.outputs[link.output], view_dst.inputs[link.input], parent=self.tag
            )

    def _build(self, node_id: str) -> None:
        g = self.graph
        cls = g.type_of(node_id)
        pos = g.pos(node_id)
        title = node_title(node_id, cls.type_name)  # "dragoptimizer" needs no "(DragOptimizer)"
        item = dpg.add_node(label=title, parent=self.tag, pos=self._at(pos))
        view = NodeView(node_id, cls.type_name, item, pos=pos)
        self.views[node_id] = view
        for decl in cls.inputs:
            label = decl.name + ("" if not decl.optional else " (opt.)")
            view.inputs[decl.name] = self._pin(
                item, dpg.mvNode_Attr_Input, label, decl.type, decl.doc, node_id, "in", decl.name
            )
        for decl in cls.outputs:
            view.outputs[decl.name] = self._pin(
                item,
                dpg.mvNode_Attr_Output,
                decl.name,
                decl.type,
                decl.doc,
                node_id,
                "out",
                decl.name,
            )
        with dpg.node_attribute(parent=item, attribute_type=dpg.mvNode_Attr_Static):
            with dpg.group(horizontal=True):
                view.summary = dpg.add_text(node_summary(g, node_id), color=(185, 185, 200))
                about = dpg.add_text("(?)", color=(120, 140, 190))
                tip(about, f"{cls.type_name} ({cls.category}): {cls.doc}")
            view.shown_summary = dpg.get_value(view.summary)
            if has_thumbnail(cls):
                view.thumb_texture = dpg.add_dynamic_texture(
                    THUMB, THUMB, pixels.blank(THUMB), parent=self.textures
                )
                with dpg.group(horizontal=True):  # the badge beside the thumbnail: no extra line
                    view.thumb = dpg.add_image(view.thumb_texture, width=THUMB, height=THUMB)
                    view.status = dpg.add_text("", color=(150, 150, 150), show=False, wrap=90)
            else:
                view.status = dpg.add_text("", color=(150, 150, 150), show=False)
            view.progress = dpg.add_progress_bar(width=NODE_WIDTH - 10, show=False)

    def _pin(
        self,
        node: int,
        kind: int,
        label: str,
        type_name: str,
        doc: str,
        node_id: str,
        side: str,
        port: str,
    ) -> int:
        shape = dpg.mvNode_PinShape_CircleFilled if side == "out" else dpg.mvNode_PinShape_Circle
        color = port_view(type_name).color or (170, 170, 170)
        with dpg.node_attribute(parent=node, attribute_type=kind, shape=shape) as attr:
            indent = max(0, NODE_WIDTH - int(CHAR_PX * len(label))) if side == "out" else -1
            text = dpg.add_text(label, color=color, indent=indent)
            tip(text, f"{label}: {type_name}" + (f". {doc}" if doc else ""))
        dpg.bind_item_theme(attr, self._pin_theme(type_name))
        self.ports[attr] = (node_id, side, port)
        return attr

    def _pin_theme(self, type_name: str) -> int:
        if type_name not in self._pin_themes:
            color = port_view(type_name).color or (200, 200, 200)
            with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvNodeCol_Pin, color, category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(
                    dpg.mvNodeCol_PinHovered, (255, 255, 255), category=dpg.mvThemeCat_Nodes
                )
            self._pin_themes[type_name] = theme
        return self._pin_themes[type_name]

    def _update(self, node_id: str) -> None:
        view, g = self.views[node_id], self.graph
        text = node_summary(g, node_id)
        if text != view.shown_summary:
            view.shown_summary = text
            dpg.set_value(view.summary, text)
        pos = g.pos(node_id)
        if pos != view.pos:
            view.pos = pos
            dpg.set_item_pos(view.item, self._at(pos))

    def _at(self, pos: tuple[float, float]) -> list[int]:
        """Where a node at graph position `pos` is drawn: the view offset F set, added."""
        return [int(pos[0] + self.offset[0]), int(pos[1] + self.offset[1])]

    def set_offset(self, offset: tuple[float, float]) -> None:
        """Moves the view (every node item by one offset) without editing the graph: framing
        the nodes is not a change of the project."""
        self.offset = (float(offset[0]), float(offset[1]))
        for view in self.views.values():
            dpg.set_item_pos(view.item, self._at(view.pos))

    def _drop(self, node_id: str) -> None:
        view = self.views.pop(node_id)
        if self._shown == node_id:
            self._shown = None
        for link in [lk for lk in self.link_items if node_id in (lk.src, lk.dst)]:
            dpg.delete_item(self.link_items.pop(link))
        for attr in [*view.inputs.values(), *view.outputs.values()]:
            self.ports.pop(attr, None)
        dpg.delete_item(view.item)
        if view.thumb_texture is not None:
            dpg.delete_item(view.thumb_texture)

    # --- view -> graph -------------------------------------------------------------------
    def _on_link(self, sender: Any, app_data: tuple[int, int]) -> None:
        a, b = (self.ports.get(dpg.get_alias_id(x) if isinstance(x, str) else x) for x in app_data)
        if a is None or b is None:
            return
        if a[1] == "in":
            a, b = b, a
        self.editor.connect(a[0], a[2], b[0], b[2])

    def _on_delink(self, sender: Any, link_item: int) -> None:
        link = next((lk for lk, item in self.link_items.items() if item == link_item), None)
        if link is not None:
            self.editor.disconnect(link.dst, link.input)

    def selected_nodes(self) -> list[str]:
        items = set(dpg.get_selected_nodes(self.tag))
        return [v.node_id for v in self.views.values() if v.item in items]

    def selected_links(self) -> list[Link]:
        items = set(dpg.get_selected_links(self.tag))
        return [link for link, item in self.link_items.items() if item in items]

    def _on_press(self) -> None:
        self._pressed_here = dpg.is_item_hovered(self.tag)

    def _on_release(self) -> None:
        """A button that went down over the canvas went up: node drags become one move (one
        undo step); a new selection is shown in the image panel."""
        if not self._pressed_here:
            return
        self._pressed_here = False
        self.commit_moves()
        selection = self.selected_nodes()
        self._selection = selection
        if selection and selection[-1] != self.editor.selected:
            self.editor.select(selection[-1])

    def commit_moves(self) -> None:
        """Writes node positions the user dragged to the graph (one undo step)."""
        moved = {}
        for node_id in self.selected_nodes():
            view = self.views[node_id]
            x, y = dpg.get_item_pos(view.item)
            x, y = x - self.offset[0], y - self.offset[1]
            if abs(x - view.pos[0]) > 0.5 or abs(y - view.pos[1]) > 0.5:
                moved[node_id] = (float(x), float(y))
        if moved:
            self.editor.move_nodes(moved)

    def free_position(self, type_name: str) -> tuple[float, float]:
        """Where a new node of `type_name` goes: a free place inside the visible part of the
        canvas, for the size it will be drawn at."""
        cls = self.graph.registry.get(type_name)
        size = estimated_size(cls, type_name.lower())  # a new node's id, which names its type
        x, y = free_spot(list(self.node_rects().values()), self.visible_rect(), size)
        return (x - self.offset[0], y - self.offset[1])

    def visible_rect(self) -> tuple[float, float, float, float]:
        """The part of the grid the canvas shows: (x, y, width, height) in node positions."""
        ox, oy = self._grid_origin()
        w, h = dpg.get_item_rect_size(self.parent)
        pad = BOX_PADDING  # the node editor sits this far inside its box on every side
        return (pad - ox, pad - oy, float(w or 800) - 2 * pad, float(h or 600) - 2 * pad)

    def _grid_origin(self) -> tuple[float, float]:
        """Where grid (0, 0) is drawn, relative to the canvas's top-left (it moves as the user
        pans): read from a drawn node, whose screen place is the grid origin plus its pos."""
        x0, y0 = dpg.get_item_pos(self.parent)  # a child of the full-viewport main window
        for view in self.views.values():
            state = dpg.get_item_state(view.item)
            if state.get("visible") and state.get("rect_size", [0, 0])[0] > 0:
                rx, ry = state["rect_min"]
                gx, gy = dpg.get_item_pos(view.item)
                return (rx - x0 - gx, ry - y0 - gy)
        return (0.0, 0.0)

    def node_rects(self) -> dict[str, tuple[float, float, float, float]]:
        """Each node's rectangle as drawn, in view coordinates (x, y, width, height)."""
        sizes = self.node_sizes()
        return {n: (*map(float, self._at(v.pos)), *sizes[n]) for n, v in self.views.items()}

    def drawn(self) -> bool:
        """True once every node has been drawn (their sizes are known, not estimated)."""
        return all(dpg.get_item_rect_size(v.item)[0] > 0 for v in self.views.values())

    def node_sizes(self) -> dict[str, tuple[float, float]]:
        """Each node's drawn size (an estimate before it was first drawn)."""
        sizes = {}
        for node_id, view in self.views.items():
            w, h = dpg.get_item_rect_size(view.item)
            if w > 0:
                sizes[node_id] = (float(w), float(h))
            else:
                cls = self.graph.type_of(node_id)
                sizes[node_id] = estimated_size(cls, node_title(node_id, cls.type_name))
        return sizes

    def fit(self, layout: bool = True) -> None:
        """F: frames every node. When the graph fits the canvas and no node hides another,
        the view moves (no edit); otherwise the graph is laid out in columns that read left to
        right (one undo step), and framed. The canvas cannot zoom."""
        if not self.views:
            return
        view = self.visible_rect()
        drawn = self.node_rects()
        rects, overlap = list(drawn.values()), overlapping(drawn)
        if layout and (overlap or not fits(rects, view)):
            sizes = {n: (w, h) for n, (_, _, w, h) in drawn.items()}
            layout = roomiest_layout(self.graph, sizes, view)
            laid = [(x, y, *sizes[n]) for n, (x, y) in layout.items()]
            self.last_layout = laid
            laid_fits = fits(laid, view)
            if laid_fits or overlap:
                self.editor.move_nodes(layout)
                self.sync()
                rects = list(self.node_rects().values())
                why = "so that no node hides another" if overlap else "to fit the canvas"
                if not laid_fits:
                    why += "; it is larger than the canvas: middle-drag to pan"
                self.editor.status(f"laid the graph out {why} (Ctrl+Z undoes it)")
            else:
                self.editor.status("the graph is larger than the canvas: middle-drag to pan")
        dx, dy = fit_offset(rects, view)
        if abs(dx) >= 1 or abs(dy) >= 1:
            self.set_offset((self.offset[0] + dx, self.offset[1] + dy))

    def show_selected(self, node_id: str | None) -> None:
        """Marks the node the panes show (its title bar lit); a canvas selection of other
        nodes is cleared, so what is highlighted is what the panes edit."""
        if self._shown is not None and self._shown in self.views:
            dpg.bind_item_theme(self.views[self._shown].item, 0)
        self._shown = node_id if node_id in self.views else None
        if self._shown is not None:
            dpg.bind_item_theme(self.views[self._shown].item, self._shown_theme())
        selection = self.selected_nodes()
        if selection and selection != [node_id]:
            dpg.clear_selected_nodes(self.tag)
            self._selection = []

    def _shown_theme(self) -> int:
        if self._shown_theme_id is None:
            with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
                for col in (dpg.mvNodeCol_TitleBar, dpg.mvNodeCol_TitleBarSelected):
                    dpg.add_theme_color(col, (150, 110, 40), category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(
                    dpg.mvNodeCol_TitleBarHovered, (175, 130, 50), category=dpg.mvThemeCat_Nodes
                )
            self._shown_theme_id = theme
        return self._shown_theme_id

    @property
    def shown(self) -> str | None:
        """The node marked as the one the panes show."""
        return self._shown

    # --- run feedback --------------------------------------------------------------------
    def set_thumbnail(self, node_id: str, image: Any) -> None:
        view = self.views.get(node_id)
        image = pixels.as_image(image)
        if view is None or view.thumb_texture is None or image is None:
            return
        dpg.set_value(view.thumb_texture, pixels.rgba(pixels.resize(image, THUMB)))

    def clear_result(self, node_id: str) -> None:
        """The node's value went stale: blank thumbnail, no badge."""
        view = self.views.get(node_id)
        if view is None:
            return
        if view.thumb_texture is not None:
            dpg.set_value(view.thumb_texture, pixels.blank(THUMB))
        dpg.configure_item(view.status, default_value="", show=False)

    def thumbnail_shown(self, node_id: str) -> bool:
        """True when the node's thumbnail holds an image (not the blank texture)."""
        view = self.views.get(node_id)
        if view is None or view.thumb_texture is None:
            return False
        drawn = np.asarray(dpg.get_value(view.thumb_texture), np.float32)
        return bool(np.abs(drawn - pixels.blank(THUMB)).max() > 1e-3)

    def set_progress(self, node_id: str, fraction: float | None, text: str = "") -> None:
        view = self.views.get(node_id)
        if view is None:
            return
        if fraction is None:
            dpg.configure_item(view.progress, show=False)
        else:
            dpg.configure_item(view.progress, show=True, overlay=text)
            dpg.set_value(view.progress, max(0.0, min(1.0, fraction)))

    def set_status(
        self, node_id: str, text: str, color: tuple[int, int, int] = (150, 150, 150)
    ) -> None:
        view = self.views.get(node_id)
        if view is not None:
            dpg.configure_item(view.status, default_value=text, color=color, show=bool(text))
