"""The Editor: builds the windows, owns the Graph, the worker and its event queue.

A view over the engine: every action below is one call of the public Graph API, so anything
the editor does a script can do. `main(args)` is `nodegraph edit`."""

from __future__ import annotations

import argparse
import inspect
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg
import numpy as np

from nodegraph import Graph, GraphError, events
from nodegraph.editor.canvas import TOOLTIPS, Canvas, tip
from nodegraph.editor.files import Files
from nodegraph.editor.image_panel import ImagePanel
from nodegraph.editor.runner import EngineEvent, Job, JobDone, JobStarted, Runner
from nodegraph.editor.trust_dialog import TrustDialog
from nodegraph.evaluate import pick_targets

SIZE = (1480, 900)
LIVE_DEBOUNCE_S = 0.4
TOOLBAR_H, LOG_H, STATUS_H = 34, 118, 26
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ERROR, OK, DIM, RUNNING = (255, 110, 100), (140, 220, 140), (150, 150, 160), (240, 200, 90)


class Editor:
    """The Dear PyGui editor over one Graph at a time (New/Open replace it)."""

    def __init__(
        self, graph: Graph | None = None, size: tuple[int, int] = SIZE, device: str = "auto"
    ) -> None:
        self.graph = graph if graph is not None else Graph()
        self.size = size
        self.selected: str | None = None
        self.live = False
        self.press_count = 0  # left presses so far; lets a slider drag fold into one undo step
        self.recent_menu: int | None = None
        self.last_report: Any = None
        self.last_error: str | None = None
        self._unsubscribe = None
        self._changed = True
        self._live_due: float | None = None
        self._dpg_selection: list[str] = []
        self._image_drag = False
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        self.runner = Runner(device)
        self.textures = dpg.add_texture_registry()
        self._style()
        self._build()
        self.files = Files(self)
        self.trust = TrustDialog(self)
        self.files.fill_recent_menu()
        self._handlers()
        dpg.create_viewport(
            title="nodegraph", width=size[0], height=size[1], x_pos=0, y_pos=0, disable_close=True
        )
        dpg.set_exit_callback(lambda: self.request_quit())
        dpg.setup_dearpygui()
        dpg.show_viewport()
        dpg.set_primary_window(self.window, True)
        self.set_graph(self.graph, None)

    # --- building ------------------------------------------------------------------------
    def _style(self) -> None:
        if FONT.is_file():
            with dpg.font_registry():
                dpg.bind_font(dpg.add_font(str(FONT), 15))
        with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
            dpg.add_theme_style(dpg.mvStyleVar_FrameRounding, 3)
            dpg.add_theme_style(dpg.mvStyleVar_ChildRounding, 4)
            dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 8, 5)
            dpg.add_theme_color(dpg.mvThemeCol_WindowBg, (30, 31, 36))
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (24, 25, 29))
            dpg.add_theme_color(dpg.mvThemeCol_MenuBarBg, (38, 40, 46))
            dpg.add_theme_color(
                dpg.mvNodeCol_TitleBar, (58, 72, 110), category=dpg.mvThemeCat_Nodes
            )
            dpg.add_theme_color(
                dpg.mvNodeCol_TitleBarHovered, (72, 90, 136), category=dpg.mvThemeCat_Nodes
            )
            dpg.add_theme_color(
                dpg.mvNodeCol_TitleBarSelected, (92, 112, 170), category=dpg.mvThemeCat_Nodes
            )
            dpg.add_theme_color(
                dpg.mvNodeCol_GridBackground, (26, 27, 31), category=dpg.mvThemeCat_Nodes
            )
            dpg.add_theme_color(dpg.mvNodeCol_GridLine, (40, 42, 48), category=dpg.mvThemeCat_Nodes)
        dpg.bind_theme(theme)

    def _build(self) -> None:
        with dpg.window(tag="nodegraph_main", no_scrollbar=True) as self.window:
            self._menus()
            with dpg.group(horizontal=True):
                dpg.add_button(label="  Run  ", callback=lambda: self.run())
                dpg.add_button(label="  Stop  ", callback=lambda: self.stop())
                self.live_box = dpg.add_checkbox(
                    label="live", callback=lambda s, v: self.set_live(v)
                )
                tip(
                    self.live_box,
                    "re-run automatically (debounced) when a param, point or link changes",
                )
                self.progress = dpg.add_progress_bar(width=320, overlay="idle")
                self.device_text = dpg.add_text(f"device: {self.runner.device}", color=DIM)
            with dpg.group(horizontal=True):
                with dpg.child_window(border=True, no_scrollbar=True) as self.canvas_box:
                    self.canvas = Canvas(self, self.canvas_box, self.textures)
                with dpg.child_window(border=True) as self.panel_box:
                    self.panel = ImagePanel(self, self.panel_box, self.textures)
            with dpg.child_window(height=LOG_H, border=True) as self.log_box:
                pass
            self.status_text = dpg.add_text("ready", color=DIM)
        self._quick_search()

    def _menus(self) -> None:
        with dpg.menu_bar():
            with dpg.menu(label="File"):
                dpg.add_menu_item(label="New", shortcut="Ctrl+N", callback=lambda: self.files.new())
                dpg.add_menu_item(
                    label="Open...",
                    shortcut="Ctrl+O",
                    callback=lambda: self.files.show_open_dialog(),
                )
                with dpg.menu(label="Open recent") as self.recent_menu:
                    pass
                dpg.add_menu_item(
                    label="Save", shortcut="Ctrl+S", callback=lambda: self.files.save()
                )
                dpg.add_menu_item(
                    label="Save as...",
                    shortcut="Ctrl+Shift+S",
                    callback=lambda: self.files.show_save_dialog(),
                )
                dpg.add_separator()
                dpg.add_menu_item(
                    label="Quit", shortcut="Ctrl+Q", callback=lambda: self.request_quit()
                )
            with dpg.menu(label="Edit"):
                dpg.add_menu_item(label="Undo", shortcut="Ctrl+Z", callback=lambda: self.undo())
                dpg.add_menu_item(
                    label="Redo", shortcut="Ctrl+Shift+Z", callback=lambda: self.redo()
                )
                dpg.add_separator()
                dpg.add_menu_item(
                    label="Duplicate", shortcut="Ctrl+D", callback=lambda: self.duplicate_selected()
                )
                dpg.add_menu_item(
                    label="Delete", shortcut="Del", callback=lambda: self.delete_selected()
                )
            with dpg.menu(label="Add"):
                dpg.add_menu_item(
                    label="Quick search...",
                    shortcut="Tab",
                    callback=lambda: self.open_quick_search(),
                )
                dpg.add_separator()
                by_category: dict[str, list[str]] = {}
                for name, cls in self.graph.registry.types().items():
                    by_category.setdefault(cls.category, []).append(name)
                for category, names in by_category.items():
                    with dpg.menu(label=category):
                        for name in names:
                            item = dpg.add_menu_item(
                                label=name,
                                callback=lambda s, a, u: self.add_node(u),
                                user_data=name,
                            )
                            doc = self.graph.registry.get(name).doc
                            tip(item, doc)
            with dpg.menu(label="Run"):
                dpg.add_menu_item(label="Run", shortcut="Ctrl+Enter", callback=lambda: self.run())
                dpg.add_menu_item(label="Stop", shortcut="Esc", callback=lambda: self.stop())
                dpg.add_menu_item(label="Live", check=True, callback=lambda s, v: self.set_live(v))

    def _quick_search(self) -> None:
        with dpg.window(
            label="Add node", show=False, width=300, height=260, no_collapse=True
        ) as self.search_window:
            self.search_input = dpg.add_input_text(
                hint="type to search, Enter adds", width=-1, callback=lambda s, v: self._filter(v)
            )
            self.search_list = dpg.add_listbox(
                [], width=-1, num_items=9, callback=lambda s, v: self._search_pick(v)
            )

    def _handlers(self) -> None:
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=lambda s, key: self._on_key(key))
            dpg.add_mouse_click_handler(callback=lambda s, button: self._on_mouse_click(button))
            dpg.add_mouse_release_handler(callback=lambda s, button: self._on_mouse_release(button))
            dpg.add_mouse_wheel_handler(callback=lambda s, delta: self._on_wheel(delta))
        dpg.set_viewport_resize_callback(lambda: self._layout())

    def _layout(self) -> None:
        w = dpg.get_viewport_client_width() or self.size[0]
        h = dpg.get_viewport_client_height() or self.size[1]
        body_h = max(200, h - TOOLBAR_H - LOG_H - STATUS_H - 40)
        panel_w = int(max(420, min(0.42 * w, 560)))
        canvas_w = w - panel_w - 24
        dpg.configure_item(self.canvas_box, width=canvas_w, height=body_h)
        dpg.configure_item(self.panel_box, width=-1, height=body_h)
        self.panel.layout(-1, -1)

    # --- graph ---------------------------------------------------------------------------
    def set_graph(self, graph: Graph, message: str | None) -> None:
        """Shows `graph` (after New or Open); the previous graph's runs are cancelled."""
        self.runner.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.graph = graph
        self._unsubscribe = graph.subscribe(self._on_graph_change)
        self.canvas.rebuild()
        self.select(default_selection(graph))
        self._changed = True
        self.update_title()
        if message:
            self.status(message)

    def _on_graph_change(self, change: Any) -> None:
        self._changed = True
        if self.live and change.kind != "move":
            self._live_due = time.monotonic() + LIVE_DEBOUNCE_S

    def update_title(self) -> None:
        g = self.graph
        name = (
            Path(g.path).name
            if g.path
            else (f"{Path(g.base_dir).name}/ (from an image)" if g.base_dir else "untitled")
        )
        dpg.set_viewport_title(f"{name}{' *' if g.dirty else ''} - nodegraph")

    @property
    def title(self) -> str:
        return dpg.get_viewport_title()

    def value_of(self, node_id: str, port: str | None) -> Any:
        """The node's output from its last evaluation, if the cache still holds it."""
        return self.graph.cached_value(node_id, port) if port else None

    # --- edits (each one Graph call) -----------------------------------------------------
    def _edit(self, what: str, fn: Any) -> Any:
        try:
            result = fn()
        except GraphError as exc:
            self.report_error(str(exc))
            return None
        self.status(what)
        return result if result is not None else True

    def add_node(
        self, type_name: str, pos: tuple[float, float] | None = None, **params: Any
    ) -> str | None:
        pos = pos if pos is not None else self.canvas.free_position()
        node = self._edit(
            f"added {type_name}", lambda: self.graph.add(type_name, pos=pos, **params)
        )
        if node:
            self.canvas.sync()
            self.select(str(node))
        return str(node) if node else None

    def connect(self, src: str, output: str, dst: str, input: str) -> bool:
        return bool(
            self._edit(
                f"linked {src}.{output} -> {dst}.{input}",
                lambda: self.graph.connect(src, output, dst, input, replace=True),
            )
        )

    def disconnect(self, dst: str, input: str) -> bool:
        return bool(
            self._edit(f"unlinked {dst}.{input}", lambda: self.graph.disconnect(dst, input))
        )

    def set_param(self, node_id: str, merge: bool = False, **params: Any) -> bool:
        names = ", ".join(params)
        return bool(
            self._edit(
                f"set {node_id}.{names}", lambda: self.graph.set(node_id, merge=merge, **params)
            )
        )

    def move_nodes(self, positions: dict[str, tuple[float, float]]) -> None:
        def move() -> None:
            with self.graph.transaction("move nodes"):
                for node_id, pos in positions.items():
                    self.graph.move(node_id, pos)

        self._edit(f"moved {', '.join(positions)}", move)

    def delete_selected(self) -> None:
        nodes, links = self.canvas.selected_nodes(), self.canvas.selected_links()
        if not nodes and not links:
            return

        def delete() -> None:
            with self.graph.transaction("delete"):
                for link in links:
                    if link.src not in nodes and link.dst not in nodes:
                        self.graph.disconnect(link.dst, link.input)
                for node_id in nodes:
                    self.graph.remove(node_id)

        self._edit(f"deleted {', '.join(nodes) or 'links'}", delete)

    def duplicate_selected(self, nodes: Sequence[str] | None = None) -> list[str]:
        """Copies nodes with their params and incoming links (links among copies follow the copies)."""
        nodes = (
            list(nodes)
            if nodes is not None
            else self.canvas.selected_nodes() or ([self.selected] if self.selected else [])
        )
        copies: dict[str, str] = {}

        def duplicate() -> None:
            g = self.graph
            with g.transaction("duplicate"):
                for node_id in nodes:
                    x, y = g.pos(node_id)
                    copies[node_id] = str(
                        g.add(g.type_of(node_id), pos=(x + 40, y + 40), **g.params(node_id))
                    )
                for node_id in nodes:
                    for link in g.links_into(node_id).values():
                        g.connect(
                            copies.get(link.src, link.src), link.output, copies[node_id], link.input
                        )

        self._edit(f"duplicated {', '.join(nodes)}", duplicate)
        return list(copies.values())

    def undo(self) -> None:
        label = self.graph.undo_label
        if self._edit(f"undid {label}", self.graph.undo) is not None and label is None:
            self.status("nothing to undo")

    def redo(self) -> None:
        label = self.graph.redo_label
        if self._edit(f"redid {label}", self.graph.redo) is not None and label is None:
            self.status("nothing to redo")

    def select(self, node_id: str | None) -> None:
        self.selected = node_id if node_id is None or node_id in self.graph else None
        self.panel.show(self.selected)

    # --- running -------------------------------------------------------------------------
    def run(self, kind: str = "run") -> Job | None:
        """Evaluates the graph's outputs and every node with an IMAGE output (thumbnails); a
        live run skips output nodes, so files are written only on Run."""
        g = self.graph
        if len(g) == 0:
            self.status("nothing to run: add nodes first")
            return None
        images = [str(n) for n in g.nodes if any(o.type == "IMAGE" for o in g.type_of(n).outputs)]
        try:
            outputs = pick_targets(g.snapshot(), None)
        except GraphError as exc:
            self.report_error(str(exc))
            return None
        if kind == "live":
            outputs = [n for n in outputs if not g.type_of(n).is_output]
        targets = list(dict.fromkeys(outputs + images))
        if not targets:
            return None
        self.runner.cancel(("run", "live"))
        self._live_due = None
        return self.runner.submit(Job(g, targets, kind))

    def stop(self) -> None:
        self.runner.cancel(("run", "live"))
        self.status("stopping...")

    def set_live(self, on: bool) -> None:
        self.live = bool(on)
        dpg.set_value(self.live_box, self.live)
        if self.live:
            self.run("live")

    def request_values(self, nodes: list[str]) -> None:
        """Evaluates `nodes` in the background (e.g. a Mask after a stroke, for its overlay)."""
        self.runner.submit(Job(self.graph, list(nodes), "values"))

    def request_render(self, built: tuple[Graph, str, str], key: tuple) -> None:
        scratch, render_id, port = built
        self.runner.submit(Job(scratch, [render_id], "render", tag=(key, render_id, port)))

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Renders frames until the worker has nothing left to do (and its events are shown)."""
        ok = self.runner.wait_idle(timeout, pump=self.frame)
        self.frame()
        return ok

    def _on_message(self, message: Any) -> None:
        if isinstance(message, JobStarted):
            if message.job.kind in ("run", "live"):
                dpg.configure_item(self.progress, overlay="starting...")
        elif isinstance(message, EngineEvent):
            self._on_event(message.job, message.event)
        elif isinstance(message, JobDone):
            self._on_job_done(message)

    def _on_event(self, job: Job, event: Any) -> None:
        if job.kind == "render":
            return
        if job.kind == "values" and not isinstance(event, events.NodeFailed):
            return
        if isinstance(event, events.RunStarted):
            todo = ", ".join(event.to_compute) or "nothing (all cached)"
            self.log(f"run on {event.device}: computing {todo}")
            dpg.configure_item(self.device_text, default_value=f"device: {event.device}")
        elif isinstance(event, events.NodeStarted):
            self.canvas.set_progress(event.node_id, 0.0, "starting")
            self.canvas.set_status(event.node_id, "running", RUNNING)
            dpg.configure_item(self.progress, overlay=f"{event.node_id}...")
            self.log(f"{event.node_id}: {event.reason}", DIM)
        elif isinstance(event, events.NodeProgress):
            fraction = event.step / event.total if event.total else 0.0
            text = f"{event.step}/{event.total}" + (f"  {event.message}" if event.message else "")
            self.canvas.set_progress(event.node_id, fraction, text)
            dpg.set_value(self.progress, fraction)
            dpg.configure_item(self.progress, overlay=f"{event.node_id}: {text}")
            if event.preview is not None:
                self.canvas.set_thumbnail(event.node_id, event.preview)
            tracked = event.points  # e.g. a drag's tracked handles
            if event.preview is not None or tracked is not None:
                self.panel.show_preview(event.node_id, event.preview, tracked)
        elif isinstance(event, events.NodeLog):
            self.log(f"{event.node_id}: {event.message}")
        elif isinstance(event, events.NodeFinished):
            self.canvas.set_progress(event.node_id, None)
            self.canvas.set_status(
                event.node_id,
                "cached" if event.cached else f"done in {event.seconds:.2f} s",
                DIM if event.cached else OK,
            )
            self._thumbnail(event.node_id)
            for path in event.written:
                self.log(f"{event.node_id}: wrote {path}", OK)
        elif isinstance(event, events.NodeFailed):
            self.canvas.set_progress(event.node_id, None)
            self.canvas.set_status(event.node_id, "failed (see log)", ERROR)
            self.report_error(str(event.error))
            self.trust.offer(event.error)
        elif isinstance(event, events.Cancelled):
            self.log(f"cancelled{' in ' + event.node_id if event.node_id else ''}", RUNNING)
            if event.node_id:
                self.canvas.set_progress(event.node_id, None)
                self.canvas.set_status(event.node_id, "cancelled", RUNNING)

    def _on_job_done(self, done: JobDone) -> None:
        job = done.job
        if done.error is not None:
            self.report_error(
                str(done.error)
                if isinstance(done.error, GraphError)
                else f"{type(done.error).__name__}: {done.error}"
            )
            self.trust.offer(done.error)
        if job.kind == "render" and done.report is not None:
            key, render_id, port = job.tag
            image = done.report.outputs.get(render_id, {}).get(port)
            self.panel.rendered(key, image)
            return
        if job.kind == "values":
            self.panel.refresh()
            return
        if job.kind in ("run", "live"):
            report = done.report
            self.last_report = report
            dpg.set_value(self.progress, 1.0 if report is not None and report.ok else 0.0)
            if report is not None:
                summary = f"{len(report.computed)} computed, {len(report.cached)} cached, {len(report.failed)} failed"
                summary += f" in {done.seconds:.1f} s" + (
                    " (cancelled)" if report.cancelled else ""
                )
                dpg.configure_item(self.progress, overlay=summary)
                if report.ok:
                    self.status(f"run finished: {summary}", OK)
                elif report.cancelled:
                    self.status("run cancelled", RUNNING)
                for node_id in report.nodes:
                    self._thumbnail(node_id)
            self.panel.end_preview()

    def _thumbnail(self, node_id: str) -> None:
        if node_id not in self.graph:
            return
        port = next(
            (o.name for o in self.graph.type_of(node_id).outputs if o.type == "IMAGE"), None
        )
        image = self.value_of(node_id, port) if port else None
        if image is not None:
            self.canvas.set_thumbnail(node_id, image)

    # --- status, log, errors -------------------------------------------------------------
    def status(self, message: str, color: tuple[int, int, int] = DIM) -> None:
        dpg.configure_item(self.status_text, default_value=message, color=color)

    @property
    def status_message(self) -> str:
        return dpg.get_value(self.status_text)

    def report_error(self, message: str) -> None:
        self.last_error = message
        self.status(message, ERROR)
        self.log(message, ERROR)

    def log(self, message: str, color: tuple[int, int, int] = (210, 210, 215)) -> None:
        stamp = time.strftime("%H:%M:%S")
        dpg.add_text(f"{stamp}  {message}", parent=self.log_box, color=color, wrap=0)
        children = dpg.get_item_children(self.log_box, 1)
        for item in children[:-300]:
            dpg.delete_item(item)
        dpg.set_y_scroll(self.log_box, -1.0)

    # --- input ---------------------------------------------------------------------------
    def _ctrl(self) -> bool:
        return dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl)

    def _shift(self) -> bool:
        return dpg.is_key_down(dpg.mvKey_LShift) or dpg.is_key_down(dpg.mvKey_RShift)

    def _on_key(self, key: int) -> None:
        ctrl, shift = self._ctrl(), self._shift()
        if ctrl and key == dpg.mvKey_Z:
            self.redo() if shift else self.undo()
        elif ctrl and key == dpg.mvKey_Y:
            self.redo()
        elif ctrl and key == dpg.mvKey_S:
            self.files.show_save_dialog() if shift else self.files.save()
        elif ctrl and key == dpg.mvKey_O:
            self.files.show_open_dialog()
        elif ctrl and key == dpg.mvKey_N:
            self.files.new()
        elif ctrl and key == dpg.mvKey_Q:
            self.request_quit()
        elif ctrl and key == dpg.mvKey_D:
            self.duplicate_selected()
        elif ctrl and key == dpg.mvKey_Return:
            self.run()
        elif key == dpg.mvKey_Escape:
            dpg.configure_item(self.search_window, show=False)
            self.stop()
        elif key in (dpg.mvKey_Delete, dpg.mvKey_Back) and dpg.is_item_hovered(self.canvas.tag):
            self.delete_selected()
        elif key == dpg.mvKey_Tab and dpg.is_item_hovered(self.canvas.tag):
            self.open_quick_search()
        elif key == dpg.mvKey_Return and dpg.is_item_shown(self.search_window):
            self.quick_add(dpg.get_value(self.search_input))

    def _on_mouse_click(self, button: int) -> None:
        if button == dpg.mvMouseButton_Left:
            self.press_count += 1
        pos = self.panel.mouse_image_pos()
        if pos is not None and button in (dpg.mvMouseButton_Left, dpg.mvMouseButton_Right):
            self._image_drag = True
            self.panel.press(*pos, button=0 if button == dpg.mvMouseButton_Left else 1)

    def _on_mouse_release(self, button: int) -> None:
        if self._image_drag:
            self._image_drag = False
            self.panel.release(*(self.panel.mouse_image_pos() or (None, None)))

    def _on_wheel(self, delta: float) -> None:
        if self.panel.mouse_image_pos() is not None:
            self.panel.wheel(delta)

    def _poll(self) -> None:
        self.canvas.poll_moves()
        selection = self.canvas.selected_nodes()
        if selection != self._dpg_selection:
            self._dpg_selection = selection
            if selection:
                self.select(selection[-1])
        if self._image_drag:
            pos = self.panel.mouse_image_pos()
            if pos is not None:
                self.panel.move_to(*pos)

    # --- quick search --------------------------------------------------------------------
    def open_quick_search(self) -> None:
        mx, my = dpg.get_mouse_pos(local=False)
        dpg.configure_item(self.search_window, show=True, pos=[int(mx), int(my)])
        dpg.set_value(self.search_input, "")
        self._filter("")
        dpg.focus_item(self.search_input)

    def search(self, query: str) -> list[str]:
        """Type names matching `query` (name, category or doc), best first."""
        q = query.strip().lower()
        types = self.graph.registry.types()
        ranked = [
            (0 if name.lower().startswith(q) else 1 if q in name.lower() else 2, name)
            for name, cls in types.items()
            if q in f"{name} {cls.category} {cls.doc}".lower()
        ]
        return [name for _, name in sorted(ranked)]

    def quick_add(self, query: str) -> str | None:
        matches = self.search(query)
        if not matches:
            self.report_error(f"no node type matches {query!r}")
            return None
        dpg.configure_item(self.search_window, show=False)
        return self.add_node(matches[0])

    def _filter(self, query: str) -> None:
        dpg.configure_item(self.search_list, items=self.search(query))

    def _search_pick(self, name: str) -> None:
        dpg.configure_item(self.search_window, show=False)
        self.add_node(name)

    # --- frames --------------------------------------------------------------------------
    def frame(self) -> None:
        """One UI frame: callbacks, worker events, polling, then drawing. Errors never escape."""
        self._guarded(lambda: self.runner.drain(self._on_message))
        for job in dpg.get_callback_queue() or []:
            self._guarded(lambda job=job: _call(job))
        self._guarded(self._poll)
        if self._changed:
            self._changed = False
            self._guarded(self.canvas.sync)
            self._guarded(self.panel.refresh)
            self._guarded(self.update_title)
        if self._live_due is not None and time.monotonic() >= self._live_due:
            self._guarded(lambda: self.run("live"))
        if not hasattr(self, "_laid_out"):
            self._laid_out = True
            self._layout()
        dpg.render_dearpygui_frame()

    def _guarded(self, fn: Any) -> None:
        try:
            fn()
        except Exception as exc:  # the editor shows errors; it never crashes on one
            self.report_error(f"editor error: {type(exc).__name__}: {exc}")
            self.log(traceback.format_exc(limit=6), DIM)

    def run_frames(self, n: int) -> None:
        for _ in range(max(1, n)):
            self.frame()

    def screenshot(self, path: str | Path) -> Path:
        """Writes the next rendered frame as a PNG (the whole viewport)."""
        got: dict[str, Any] = {}
        dpg.output_frame_buffer(callback=lambda sender, buffer: got.setdefault("buffer", buffer))
        for _ in range(10):
            self.frame()
            if "buffer" in got:
                break
        buffer = got["buffer"]
        w, h = buffer.get_width(), buffer.get_height()
        rgba = np.frombuffer(buffer, dtype=np.float32).reshape(h, w, 4)
        from PIL import Image

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((rgba[..., :3].clip(0, 1) * 255).round().astype(np.uint8)).save(path)
        return path

    def panel_image_rect(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The image panel's drawn image in viewport pixels: ((x, y), (width, height))."""
        x, y = dpg.get_item_rect_min(self.panel.drawlist)
        w, h = dpg.get_item_rect_size(self.panel.drawlist)
        return (int(x), int(y)), (int(w), int(h))

    def request_quit(self) -> None:
        self.files.guard(dpg.stop_dearpygui)

    def loop(self) -> None:
        while dpg.is_dearpygui_running():
            self.frame()

    def close(self) -> None:
        self.runner.shutdown()
        if self._unsubscribe is not None:
            self._unsubscribe()
        dpg.destroy_context()


def _call(job: list) -> None:
    """Calls a queued Dear PyGui callback with as many of (sender, app_data, user_data) as it takes."""
    fn = job[0]
    if fn is None:
        return
    count = len(inspect.signature(fn).parameters)
    fn(*job[1 : 1 + count])


def default_selection(g: Graph) -> str | None:
    """The node whose image to show first: the last node (in link order) with an IMAGE output."""
    if len(g) == 0:
        return None
    order = _topological(g)
    with_image = [n for n in order if any(o.type == "IMAGE" for o in g.type_of(n).outputs)]
    return with_image[-1] if with_image else order[0]


def _topological(g: Graph) -> list[str]:
    import networkx as nx

    return list(nx.topological_sort(g.snapshot().dag()))


def _parse(args: argparse.Namespace | Sequence[str] | None) -> argparse.Namespace:
    if isinstance(args, argparse.Namespace):
        return args
    parser = argparse.ArgumentParser(prog="nodegraph edit")
    parser.add_argument("project", nargs="?")
    parser.add_argument("--screenshot", metavar="OUT")
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--run", action="store_true")
    return parser.parse_args(list(args) if args is not None else None)


def main(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    """`nodegraph edit [PROJECT] [--screenshot OUT.png] [--frames N] [--run]`. With --screenshot:
    open, optionally run to completion, render N frames, save the screenshot and exit (1 when
    the project could not be opened or the run failed)."""
    ns = _parse(args)
    TOOLTIPS["on"] = not ns.screenshot
    editor = Editor()
    code = 0
    try:
        editor.run_frames(2)
        if ns.project and not editor.files.open(ns.project, confirm=False):
            code = 1
        if getattr(ns, "run", False) and code == 0:
            editor.run()
            editor.wait_idle(timeout=600)
            report = editor.last_report
            code = 0 if report is not None and report.ok else 1
            editor.wait_idle(timeout=120)  # the image panel's own render, if it asked for one
        if ns.screenshot:
            editor.run_frames(getattr(ns, "frames", 3) or 3)
            editor.wait_idle(timeout=60)
            path = editor.screenshot(ns.screenshot)
            print(f"wrote {path}")
            return code
        editor.loop()
        return code
    finally:
        editor.close()
