"""The Editor: builds the windows, owns the Graph, the worker and its event queue.

A view over the engine: every action below is one call of the public Graph API, so anything
the editor does a script can do. The views (canvas, image panel, files) see it through the
small `Host` interface. `main(args)` is `nodegraph edit`."""

from __future__ import annotations

import argparse
import inspect
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg
import numpy as np

from nodegraph import Graph, GraphError, events
from nodegraph.editor import queries
from nodegraph.editor.canvas import TOOLTIPS, Canvas, tip
from nodegraph.editor.files import Files
from nodegraph.editor.image_panel import ImagePanel
from nodegraph.editor.pacing import POLL_S, FpsLog, FramePacer, InputWatch
from nodegraph.editor.runner import EngineEvent, Job, JobDone, JobStarted, Runner
from nodegraph.editor.trust_dialog import TrustDialog
from nodegraph.evaluate import pick_targets
from nodegraph.views import port_view

SIZE = (1480, 900)
LIVE_DEBOUNCE_S = 0.4
TOOLBAR_H, LOG_H, STATUS_H = 34, 118, 26
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ERROR, OK, DIM, RUNNING = (255, 110, 100), (140, 220, 140), (150, 150, 160), (240, 200, 90)
WARNING = (255, 170, 60)
BACKGROUND = (30, 31, 36)


class Editor:
    """The Dear PyGui editor over one Graph at a time (New/Open replace it)."""

    def __init__(
        self,
        graph: Graph | None = None,
        size: tuple[int, int] = SIZE,
        device: str = "auto",
        fps_log: str | Path | None = None,
    ) -> None:
        self._graph = graph if graph is not None else Graph()
        self.size = size
        self.selected: str | None = None
        self.live = False
        self.opened_from: str | None = None  # the PNG a project came from, for the title
        self.last_report: Any = None
        self.last_error: str | None = None
        self.warnings: list[tuple[str, str]] = []  # (node, message) of the last run
        self._unsubscribe: Callable[[], None] | None = None
        self._changed = True
        self._live_due: float | None = None
        self._fresh: dict[str, str] = {}  # node -> upstream signature its cached value is for
        self._settling: dict[str, dict] = {}  # node -> params it stopped at (NodeSettled)
        self._budgets: dict[str, int] = {}  # node -> steps it had before a Stop kept it short
        self._last_drag: str | None = None
        self._search_matches: list[str] = []
        self._search_index = 0
        self._laid_out = False
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        self.runner = Runner(device)
        self.textures = dpg.add_texture_registry()
        self._style()
        self._build()
        self.files = Files(self, self.recent_menu)
        self.trust = TrustDialog(self)
        self.files.fill_recent_menu()
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=lambda s, key: self._on_key(key))
        dpg.create_viewport(
            title="nodegraph", width=size[0], height=size[1], x_pos=0, y_pos=0, disable_close=True
        )
        dpg.set_viewport_clear_color((*BACKGROUND, 255))
        dpg.set_viewport_resize_callback(lambda: self._layout())
        dpg.set_exit_callback(lambda: self.request_quit())
        dpg.setup_dearpygui()
        dpg.show_viewport()
        dpg.set_primary_window(self.window, True)
        self.input = InputWatch()
        self.pacer = FramePacer()
        self.fps_log = FpsLog(fps_log) if fps_log else None
        self.set_graph(self._graph, None)

    @property
    def graph(self) -> Graph:
        return self._graph

    # --- building ------------------------------------------------------------------------
    def _style(self) -> None:
        if FONT.is_file():
            with dpg.font_registry():
                dpg.bind_font(dpg.add_font(str(FONT), 15))
        # Window and child backgrounds are left to the viewport's clear colour: under a
        # software renderer every full-size fill costs milliseconds per frame.
        with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
            dpg.add_theme_style(dpg.mvStyleVar_FrameRounding, 3)
            dpg.add_theme_style(dpg.mvStyleVar_ChildRounding, 4)
            dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 8, 5)
            dpg.add_theme_color(dpg.mvThemeCol_WindowBg, (*BACKGROUND, 0))
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (24, 25, 29, 0))
            dpg.add_theme_color(dpg.mvThemeCol_MenuBarBg, (38, 40, 46))
            nodes = dict(category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_color(dpg.mvNodeCol_TitleBar, (58, 72, 110), **nodes)
            dpg.add_theme_color(dpg.mvNodeCol_TitleBarHovered, (72, 90, 136), **nodes)
            dpg.add_theme_color(dpg.mvNodeCol_TitleBarSelected, (92, 112, 170), **nodes)
            dpg.add_theme_color(dpg.mvNodeCol_GridBackground, (26, 27, 31, 0), **nodes)
            dpg.add_theme_color(dpg.mvNodeCol_GridLine, (40, 42, 48), **nodes)
        with dpg.theme() as self._popup_theme, dpg.theme_component(dpg.mvAll):
            dpg.add_theme_color(dpg.mvThemeCol_WindowBg, (36, 38, 44, 255))
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (30, 31, 36, 255))
        dpg.bind_theme(theme)

    def _build(self) -> None:
        with dpg.window(tag="nodegraph_main", no_scrollbar=True) as self.window:
            self._menus()
            with dpg.group(horizontal=True):
                dpg.add_button(label="  Run  ", callback=lambda: self.run())
                stop = dpg.add_button(label="  Stop  ", callback=lambda: self.stop())
                tip(stop, "stop the run; a drag keeps its result so far (Esc)")
                cont = dpg.add_button(label="  Continue  ", callback=lambda: self.continue_drag())
                tip(cont, "next stage from where the drag is: a new point set (handles = tracked "
                    "points, same targets) and a drag linked after it; then runs it")  # fmt: skip
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
            self.status_text = dpg.add_text("ready", color=DIM, wrap=0)
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
                dpg.add_menu_item(
                    label="Fit nodes in view", shortcut="F", callback=lambda: self.canvas.fit()
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
                            tip(item, self.graph.registry.get(name).doc)
            with dpg.menu(label="Run"):
                dpg.add_menu_item(label="Run", shortcut="Ctrl+Enter", callback=lambda: self.run())
                dpg.add_menu_item(label="Stop", shortcut="Esc", callback=lambda: self.stop())
                dpg.add_menu_item(
                    label="Continue", shortcut="Ctrl+Shift+Enter",
                    callback=lambda: self.continue_drag(),
                )  # fmt: skip
                dpg.add_menu_item(label="Live", check=True, callback=lambda s, v: self.set_live(v))

    def _quick_search(self) -> None:
        with dpg.window(
            label="Add node", show=False, width=300, height=260, no_collapse=True
        ) as self.search_window:
            self.search_input = dpg.add_input_text(
                hint="type; arrows pick, Enter adds", width=-1,
                callback=lambda s, v: self._filter(v),
            )  # fmt: skip
            self.search_list = dpg.add_listbox(
                [], width=-1, num_items=9, callback=lambda s, v: self._search_pick(v)
            )
        dpg.bind_item_theme(self.search_window, self._popup_theme)

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
    def set_graph(self, graph: Graph, message: str | None, opened_from: str | None = None) -> None:
        """Shows `graph` (after New or Open); every job of the previous graph is cancelled."""
        self.runner.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._graph = graph
        self.opened_from = opened_from
        self._fresh, self._settling, self._budgets, self._last_drag = {}, {}, {}, None
        self._unsubscribe = graph.subscribe(self._on_graph_change)
        self.canvas.rebuild()
        self.select(queries.default_selection(graph))
        self._changed = True
        self.update_title()
        if message:
            self.status(message)

    def _on_graph_change(self, change: Any) -> None:
        self._changed = True
        if change.kind == "move":
            return
        self.runner.invalidate(change.node_id)  # a run of what changed is stale: cancel it
        if self.live:
            self._live_due = time.monotonic() + LIVE_DEBOUNCE_S

    def update_title(self) -> None:
        dpg.set_viewport_title(queries.window_title(self.graph, self.opened_from))

    @property
    def title(self) -> str:
        return dpg.get_viewport_title()

    def value_of(self, node_id: str, port: str | None) -> Any:
        """The node's output from an evaluation of its current upstream state, else None (a
        value computed before an edit upstream is never shown as if it were current)."""
        if not port or node_id not in self.graph:
            return None
        if self._fresh.get(node_id) != queries.upstream_signature(self.graph, node_id):
            return None
        return self.graph.cached_value(node_id, port)

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
                        src = copies.get(link.src, link.src)
                        g.connect(src, link.output, copies[node_id], link.input)

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
        try:
            outputs = pick_targets(g.snapshot(), None)
        except GraphError as exc:
            self.report_error(str(exc))
            return None
        if kind == "live":
            outputs = [n for n in outputs if not g.type_of(n).is_output]
        targets = list(dict.fromkeys(outputs + queries.image_nodes(g)))
        if not targets:
            return None
        self.runner.cancel(("run", "live"))
        self._live_due = None
        self.warnings = []
        return self.runner.submit(Job(g, targets, kind))

    def stop(self) -> None:
        """Stops the run; a drag keeps its result so far (its steps become the steps done)."""
        if self.runner.finish():
            self.status("stopping: a running drag keeps its result so far", RUNNING)
        else:
            self.status("nothing is running")

    def continue_drag(self, node_id: str | None = None) -> str | None:
        """Continue: the next stage of a drag from where it is (its tracked handles, the same
        targets) as a new point set and drag node linked after it, then a run. Returns the
        new drag node's id."""
        g = self.graph
        drag = node_id or self._drag_to_continue()
        if drag is None:
            self.status("select a drag node to continue (run or stop it first)", WARNING)
            return None
        port = queries.output_with_role(g, drag, "pairs")
        result = self.value_of(drag, port)
        if result is None:
            self.status(f"run {drag} first (or stop it): Continue starts from its result", WARNING)
            return None
        tracked, targets = port_view(g.type_of(drag).output(port).type).pairs(result)
        try:
            stage = queries.continue_drag(g, drag, list(tracked), list(targets), self._budgets.get(drag))
        except (GraphError, ValueError) as exc:
            self.report_error(f"cannot continue {drag}: {exc}")
            return None
        self.canvas.sync()
        self.status(f"continued {drag}: {stage.points} -> {stage.drag}")
        self.select(stage.drag)
        self.run()
        return stage.drag

    def _drag_to_continue(self) -> str | None:
        g = self.graph
        for candidate in (self.selected, self._last_drag):
            if candidate in g and _is_drag(g, candidate):
                return candidate
        return None

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
        if job.kind == "render" or job.graph is not self.graph:
            return
        if isinstance(event, events.NodeFinished):
            self._finished(job, event)
        elif isinstance(event, events.NodeSettled):
            self._settling[event.node_id] = event.params
        elif isinstance(event, events.NodeFailed):
            self.canvas.set_progress(event.node_id, None)
            self.canvas.set_status(event.node_id, "failed (see log)", ERROR)
            self.report_error(str(event.error))
            self.trust.offer(event.error)
        if job.kind == "values":
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
            self._follow(event.node_id)
        elif isinstance(event, events.NodeProgress):
            self._progress(event)
        elif isinstance(event, events.NodeLog):
            self.log(f"{event.node_id}: {event.message}")
        elif isinstance(event, events.NodeWarning):
            self.warnings.append((event.node_id, event.message))
            self.canvas.set_status(event.node_id, "warning (see log)", WARNING)
            self.log(f"{event.node_id}: warning: {event.message}", WARNING)
        elif isinstance(event, events.RunCancelled):
            self.log(f"cancelled{' in ' + event.node_id if event.node_id else ''}", RUNNING)
            if event.node_id:
                self.canvas.set_progress(event.node_id, None)
                self.canvas.set_status(event.node_id, "cancelled", RUNNING)

    def _follow(self, node_id: str) -> None:
        """The panel shows the node being computed when it makes an image (a drag, a render),
        unless the user is in the middle of a gesture on the panel."""
        if queries.output_with_role(self.graph, node_id, "image") and not self.panel.gesture:
            if _is_drag(self.graph, node_id):
                self._last_drag = node_id
            if self.selected != node_id:
                self.select(node_id)

    def _progress(self, event: events.NodeProgress) -> None:
        fraction = event.step / event.total if event.total else 0.0
        text = f"{event.step}/{event.total}" + (f"  {event.message}" if event.message else "")
        self.canvas.set_progress(event.node_id, fraction, text)
        dpg.set_value(self.progress, fraction)
        dpg.configure_item(self.progress, overlay=f"{event.node_id}: {text}")
        if event.preview is not None:
            self.canvas.set_thumbnail(event.node_id, event.preview)
        if event.preview is not None or event.points is not None:
            self.panel.show_preview(event.node_id, event.preview, event.points)

    def _finished(self, job: Job, event: events.NodeFinished) -> None:
        node = event.node_id
        settled = self._settling.pop(node, None)
        if settled is not None and node in self.graph:
            self._keep_stopped(node, settled)
        elif node in job.signatures:
            self._fresh[node] = job.signatures[node]
        if job.kind == "values":
            return
        self.canvas.set_progress(node, None)
        if node not in {n for n, _ in self.warnings}:
            self.canvas.set_status(
                node,
                "cached" if event.cached else f"done in {event.seconds:.2f} s",
                DIM if event.cached else OK,
            )
        self._thumbnail(node)
        for path in event.written:
            self.log(f"{node}: wrote {path}", OK)

    def _keep_stopped(self, node: str, params: dict) -> None:
        """A drag stopped by the user: its params become what reproduces the kept result
        (steps = steps done), as one undo step; the result is cached under them."""
        old = self.graph.params(node)
        if "steps" in params and "steps" in old:
            self._budgets[node] = int(old["steps"])
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        try:
            with self.graph.transaction(f"stop {node} at {shown}"):
                self.graph.set(node, **params)
        except GraphError as exc:
            self.report_error(str(exc))
            return
        self._fresh[node] = queries.upstream_signature(self.graph, node)
        self._last_drag = node
        self.canvas.set_status(node, f"stopped: {shown}", RUNNING)
        self.log(f"{node}: stopped and kept; set {shown} (Ctrl+Z undoes it)", RUNNING)

    def _on_job_done(self, done: JobDone) -> None:
        job = done.job
        if done.error is not None:
            self.report_error(
                str(done.error)
                if isinstance(done.error, GraphError)
                else f"{type(done.error).__name__}: {done.error}"
            )
            self.trust.offer(done.error)
        if job.kind == "render":
            key, render_id, port = job.tag
            report = done.report
            image = report.outputs.get(render_id, {}).get(port) if report is not None else None
            cancelled = job.cancel.is_set() or (report is not None and report.cancelled)
            self.panel.rendered(key, image, cancelled=cancelled)
            return
        if job.graph is not self.graph:
            return
        if job.kind == "values":
            self.panel.refresh()
            return
        report = done.report
        self.last_report = report
        dpg.set_value(self.progress, 1.0 if report is not None and report.ok else 0.0)
        if report is not None:
            self._run_summary(report, done.seconds)
            for node_id in report.nodes:
                self._thumbnail(node_id)
        self.panel.end_preview()

    def _run_summary(self, report: Any, seconds: float) -> None:
        kept = [n for n, r in report.nodes.items() if r.settled]
        summary = f"{len(report.computed)} computed, {len(report.cached)} cached, {len(report.failed)} failed"
        summary += f" in {seconds:.1f} s" + (" (cancelled)" if report.cancelled else "")
        dpg.configure_item(self.progress, overlay=summary)
        if kept:
            steps = ", ".join(f"{n} at step {report.nodes[n].settled.get('steps')}" for n in kept)
            self.status(f"stopped: kept {steps}; Continue goes on from there", RUNNING)
        elif self.warnings:
            node, message = self.warnings[0]
            self.status(f"run finished with a warning: {node} {message}", WARNING)
        elif report.ok:
            self.status(f"run finished: {summary}", OK)
        elif report.cancelled:
            self.status("run cancelled", RUNNING)

    def _thumbnail(self, node_id: str) -> None:
        if node_id not in self.graph:
            return
        port = queries.output_with_role(self.graph, node_id, "image")
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

    # --- keys ----------------------------------------------------------------------------
    def _ctrl(self) -> bool:
        return dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl)

    def _shift(self) -> bool:
        return dpg.is_key_down(dpg.mvKey_LShift) or dpg.is_key_down(dpg.mvKey_RShift)

    def typing(self) -> bool:
        """A text or number field has the keyboard (or a dialog is up): keys are text then."""
        fields = [*self.canvas.text_fields(), self.search_input]
        return self.files.dialog_open or any(dpg.is_item_active(f) for f in fields)

    def _on_key(self, key: int) -> None:
        ctrl, shift = self._ctrl(), self._shift()
        if dpg.is_item_shown(self.search_window) and self._search_key(key):
            return
        if ctrl and key == dpg.mvKey_S:
            self.files.show_save_dialog() if shift else self.files.save()
        elif ctrl and key == dpg.mvKey_O:
            self.files.show_open_dialog()
        elif ctrl and key == dpg.mvKey_N:
            self.files.new()
        elif ctrl and key == dpg.mvKey_Q:
            self.request_quit()
        elif ctrl and key == dpg.mvKey_Return:
            self.continue_drag() if shift else self.run()
        elif key == dpg.mvKey_Escape and not self.files.dialog_open:
            if self.runner.running():
                self.stop()
        elif not self.typing():
            self._canvas_key(key, ctrl, shift)

    def _canvas_key(self, key: int, ctrl: bool, shift: bool) -> None:
        """Shortcuts that edit the graph: only when no text field has the keyboard."""
        over_canvas = dpg.is_item_hovered(self.canvas.tag)
        if ctrl and key == dpg.mvKey_Z:
            self.redo() if shift else self.undo()
        elif ctrl and key == dpg.mvKey_Y:
            self.redo()
        elif ctrl and key == dpg.mvKey_D:
            self.duplicate_selected()
        elif key in (dpg.mvKey_Delete, dpg.mvKey_Back) and over_canvas:
            self.delete_selected()
        elif key == dpg.mvKey_Tab and over_canvas:
            self.open_quick_search()
        elif key == dpg.mvKey_F and not ctrl and over_canvas:
            self.canvas.fit()

    def _search_key(self, key: int) -> bool:
        """Keys of the open quick search: Escape closes it (and nothing else), arrows move the
        highlight, Enter adds the highlighted type. True when the key was the search's."""
        if key == dpg.mvKey_Escape:
            dpg.configure_item(self.search_window, show=False)
        elif key in (dpg.mvKey_Down, dpg.mvKey_Up):
            self._highlight(self._search_index + (1 if key == dpg.mvKey_Down else -1))
        elif key in (dpg.mvKey_Return, dpg.mvKey_NumPadEnter):
            self.quick_add(dpg.get_value(self.search_input))
        else:
            return False
        return True

    # --- quick search --------------------------------------------------------------------
    def open_quick_search(self) -> None:
        mx, my = dpg.get_mouse_pos(local=False)
        dpg.configure_item(self.search_window, show=True, pos=[int(mx), int(my)])
        dpg.set_value(self.search_input, "")
        self._filter("")
        dpg.focus_item(self.search_input)

    def search(self, query: str) -> list[str]:
        """Type names matching `query` (name, category or doc), best first."""
        return queries.search_types(self.graph, query)

    def quick_add(self, query: str) -> str | None:
        """Adds the highlighted match of `query` (the first when the query changed)."""
        matches = self.search(query)
        if not matches:
            self.report_error(f"no node type matches {query!r}")
            return None
        if matches != self._search_matches:
            self._search_matches, self._search_index = matches, 0
        dpg.configure_item(self.search_window, show=False)
        return self.add_node(matches[self._search_index])

    @property
    def highlighted(self) -> str | None:
        """The quick search's highlighted type: what Enter adds."""
        m = self._search_matches
        return m[self._search_index] if m else None

    def _filter(self, query: str) -> None:
        self._search_matches = self.search(query)
        dpg.configure_item(self.search_list, items=self._search_matches)
        self._highlight(0)

    def _highlight(self, index: int) -> None:
        if not self._search_matches:
            return
        self._search_index = max(0, min(len(self._search_matches) - 1, index))
        dpg.set_value(self.search_list, self._search_matches[self._search_index])

    def _search_pick(self, name: str) -> None:
        dpg.configure_item(self.search_window, show=False)
        self.add_node(name)

    # --- frames --------------------------------------------------------------------------
    def frame(self) -> None:
        """One UI frame: worker events, callbacks, then drawing. Errors never escape."""
        self._guarded(lambda: self.runner.drain(self._on_message))
        for job in dpg.get_callback_queue() or []:
            self._guarded(lambda job=job: _call(job))
        if self._changed:
            self._changed = False
            self._guarded(self.canvas.sync)
            self._guarded(self.panel.refresh)
            self._guarded(self.update_title)
        if self._live_due is not None and time.monotonic() >= self._live_due:
            self._guarded(lambda: self.run("live"))
        if not self._laid_out:
            self._laid_out = True
            self._layout()
        dpg.render_dearpygui_frame()
        if self.fps_log is not None:
            self.fps_log.frame(self._state())

    def _state(self) -> str:
        return "running" if self.runner.running() else "idle"

    def _has_news(self) -> bool:
        live_due = self._live_due is not None and time.monotonic() >= self._live_due
        return self._changed or live_due or not self.runner.events.empty()

    def _guarded(self, fn: Any) -> None:
        try:
            fn()
        except Exception as exc:  # the editor shows errors; it never crashes on one
            self.report_error(f"editor error: {type(exc).__name__}: {exc}")
            self.log(traceback.format_exc(limit=6), DIM)

    def run_frames(self, n: int) -> None:
        for _ in range(max(1, n)):
            self.frame()

    def loop(self) -> None:
        """Draws when something changed (input, worker messages, edits), else sleeps."""
        while dpg.is_dearpygui_running():
            now = time.monotonic()
            if self.pacer.due(now, self.input.active(), self._has_news()):
                self.pacer.drew(now)
                self.frame()
            else:
                if self.fps_log is not None:
                    self.fps_log.tick(self._state())
                time.sleep(POLL_S)

    def screenshot(self, path: str | Path) -> Path:
        """Writes the next rendered frame as a PNG (the whole viewport)."""
        got: dict[str, Any] = {}
        self.frame()  # textures set since the last frame are uploaded by this one
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

    def close(self) -> None:
        self.runner.shutdown()
        self.input.close()
        if self._unsubscribe is not None:
            self._unsubscribe()
        dpg.destroy_context()


def _is_drag(g: Graph, node_id: str) -> bool:
    """A node that stops early with a result (a drag) and reads and gives point pairs."""
    return (
        g.type_of(node_id).stops_early
        and queries.input_with_role(g, node_id, "pairs") is not None
        and queries.output_with_role(g, node_id, "pairs") is not None
    )


def _call(job: list) -> None:
    """Calls a queued Dear PyGui callback with as many of (sender, app_data, user_data) as it takes."""
    fn = job[0]
    if fn is None:
        return
    count = len(inspect.signature(fn).parameters)
    fn(*job[1 : 1 + count])


def _parse(args: argparse.Namespace | Sequence[str] | None) -> argparse.Namespace:
    if isinstance(args, argparse.Namespace):
        return args
    parser = argparse.ArgumentParser(prog="nodegraph edit")
    parser.add_argument("project", nargs="?")
    parser.add_argument("--screenshot", metavar="OUT")
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--run", action="store_true")
    parser.add_argument("--fps-log", metavar="FILE")
    return parser.parse_args(list(args) if args is not None else None)


def main(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    """`nodegraph edit [PROJECT] [--screenshot OUT.png] [--frames N] [--run] [--fps-log FILE]`.
    With --screenshot: open, optionally run to completion, render N frames, save the
    screenshot and exit (1 when the project could not be opened or the run failed).
    --fps-log appends frames drawn, fps and CPU use once a second to FILE."""
    ns = _parse(args)
    TOOLTIPS["on"] = not ns.screenshot
    editor = Editor(fps_log=getattr(ns, "fps_log", None))
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
