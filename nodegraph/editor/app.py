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

from nodegraph import Graph
from nodegraph.editor import queries, shortcuts
from nodegraph.editor.canvas import Canvas
from nodegraph.editor.edits import EditCommands
from nodegraph.editor.files import Files
from nodegraph.editor.help_window import HelpWindow
from nodegraph.editor.image_panel import ImagePanel
from nodegraph.editor.jobs import DIM, ERROR, Jobs
from nodegraph.editor.pacing import POLL_S, FpsLog, FramePacer, InputWatch
from nodegraph.editor.param_pane import ParamPane
from nodegraph.editor.quick_search import QuickSearch
from nodegraph.editor.runner import Job, Runner
from nodegraph.editor.scrubber import HEIGHT as SCRUBBER_H
from nodegraph.editor.scrubber import Scrubber
from nodegraph.editor.shortcuts import Modifiers
from nodegraph.editor.tips import TOOLTIPS, tip
from nodegraph.editor.trust_dialog import TrustDialog

SIZE = (1480, 900)
TOOLBAR_H, LOG_H, STATUS_H, PARAMS_H = 34, 84, 26, 230
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BACKGROUND = (30, 31, 36)


class Editor(EditCommands):
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
        self.opened_from: str | None = None  # the PNG a project came from, for the title
        self.last_error: str | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._changed = True
        self._touched: str | None = None  # the node the last graph change was about
        self._laid_out = False
        self._overlap_unchecked = False  # set by set_graph: say once if its nodes overlap
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        self.runner = Runner(device)
        self.jobs = Jobs(self)
        self.textures = dpg.add_texture_registry()
        self._style()
        self.modifiers = Modifiers()  # before the key handler: chords read in event order
        self._build()
        self.files = Files(self, self.recent_menu)
        self.trust = TrustDialog(self)
        self.help = HelpWindow(self._popup_theme)
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
                with dpg.child_window(border=True, no_scrollbar=True) as self.panel_box:
                    with dpg.child_window(height=PARAMS_H, border=False) as self.params_box:
                        self.params = ParamPane(self, self.params_box)
                    dpg.add_separator()
                    self.panel = ImagePanel(self, self.panel_box, self.textures)
                    self.scrubber = Scrubber(self, self.panel_box, self.panel)
            with dpg.child_window(height=LOG_H, border=True) as self.log_box:
                pass
            self.status_text = dpg.add_text("ready", color=DIM, wrap=0)
        self.quick_search = QuickSearch(
            lambda: self.graph, self.add_node, self.report_error, self._popup_theme
        )

    def _menus(self) -> None:
        def item(label: str, action: str, call: Callable[[], Any]) -> None:
            dpg.add_menu_item(label=label, shortcut=shortcuts.first_for(action), callback=call)

        with dpg.menu_bar():
            with dpg.menu(label="File"):
                item("New", "new", lambda: self.files.new())
                dpg.add_menu_item(label="New from starter", callback=lambda: self.files.new_start())
                item("Open...", "open", lambda: self.files.show_open_dialog())
                with dpg.menu(label="Open recent") as self.recent_menu:
                    pass
                item("Save", "save", lambda: self.files.save())
                item("Save as...", "save_as", lambda: self.files.show_save_dialog())
                dpg.add_separator()
                item("Quit", "quit", lambda: self.request_quit())
            with dpg.menu(label="Edit"):
                item("Undo", "undo", lambda: self.undo())
                item("Redo", "redo", lambda: self.redo())
                dpg.add_separator()
                item("Duplicate", "duplicate", lambda: self.duplicate_selected())
                item("Delete", "delete", lambda: self.delete_selected())
                item("Fit nodes in view", "fit", lambda: self.canvas.fit())
            with dpg.menu(label="Add"):
                item("Quick search...", "quick_search", lambda: self.open_quick_search())
                dpg.add_separator()
                by_category: dict[str, list[str]] = {}
                for name, cls in self.graph.registry.types().items():
                    by_category.setdefault(cls.category, []).append(name)
                for category, names in by_category.items():
                    with dpg.menu(label=category):
                        for name in names:
                            added = dpg.add_menu_item(
                                label=name,
                                callback=lambda s, a, u: self.add_node(u),
                                user_data=name,
                            )
                            tip(added, self.graph.registry.get(name).doc)
            with dpg.menu(label="Run"):
                item("Run", "run", lambda: self.run())
                item("Stop", "stop", lambda: self.stop())
                item("Continue", "continue", lambda: self.continue_drag())
                dpg.add_menu_item(label="Live", check=True, callback=lambda s, v: self.set_live(v))
            with dpg.menu(label="Help") as self.help_menu:
                dpg.add_menu_item(label="Shortcuts", callback=lambda: self.help.show())

    def _layout(self) -> None:
        w = dpg.get_viewport_client_width() or self.size[0]
        h = dpg.get_viewport_client_height() or self.size[1]
        body_h = max(200, h - TOOLBAR_H - LOG_H - STATUS_H - 40)
        panel_w = int(max(420, min(0.42 * w, 560)))
        canvas_w = w - panel_w - 24
        dpg.configure_item(self.canvas_box, width=canvas_w, height=body_h)
        dpg.configure_item(self.panel_box, width=-1, height=body_h)
        self.panel.layout(-1, -SCRUBBER_H if self.scrubber.shown_rows else -1)

    # --- graph ---------------------------------------------------------------------------
    def set_graph(self, graph: Graph, message: str | None, opened_from: str | None = None) -> None:
        """Shows `graph` (after New or Open); every job of the previous graph is cancelled."""
        self.jobs.reset()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._graph = graph
        self.opened_from = opened_from
        dpg.set_value(self.progress, 0.0)
        dpg.configure_item(self.progress, overlay="idle")
        self._unsubscribe = graph.subscribe(self._on_graph_change)
        self.canvas.rebuild()
        self.select(queries.default_selection(graph))
        self.panel.set_stand_in(self.selected, _read_png(opened_from) if opened_from else None)
        self.panel.refresh()
        self._changed = True
        self._overlap_unchecked = True
        self.update_title()
        if message:
            self.status(message)

    def _hint_overlap(self) -> None:
        """Once a graph's nodes are drawn after New or Open: says which nodes hide others (a
        project laid out for smaller nodes, from an older version or another screen); the
        editor moves no node by itself, F lays them out."""
        pairs = queries.overlapping(self.canvas.node_rects())
        if pairs:
            named = ", ".join(f"{a} and {b}" for a, b in pairs[:3])
            more = f" and {len(pairs) - 3} more" if len(pairs) > 3 else ""
            self.status(f"nodes overlap ({named}{more}): press F to lay the graph out")

    def _on_graph_change(self, change: Any) -> None:
        self._changed = True
        if getattr(change, "node_id", None):
            self._touched = change.node_id
        if change.kind == "move":
            return
        self.jobs.graph_changed(change.node_id)

    def update_title(self) -> None:
        dpg.set_viewport_title(queries.window_title(self.graph, self.opened_from))

    @property
    def title(self) -> str:
        return dpg.get_viewport_title()

    def value_of(self, node_id: str, port: str | None) -> Any:
        """The node's output from an evaluation of its current upstream state, else None (a
        value computed before an edit upstream is never shown as if it were current)."""
        return self.jobs.value_of(node_id, port)

    # --- running (editor.jobs) -----------------------------------------------------------
    def run(self, kind: str = "run") -> Job | None:
        return self.jobs.run(kind)

    def stop(self) -> None:
        self.jobs.stop()

    def continue_drag(self, node_id: str | None = None) -> str | None:
        return self.jobs.continue_drag(node_id)

    def set_live(self, on: bool) -> None:
        self.jobs.set_live(on)

    @property
    def live(self) -> bool:
        return self.jobs.live

    @property
    def last_report(self) -> Any:
        return self.jobs.last_report

    @last_report.setter
    def last_report(self, report: Any) -> None:
        self.jobs.last_report = report

    @property
    def warnings(self) -> list[tuple[str, str]]:
        return self.jobs.warnings

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

    def show_cache_state(self) -> None:
        """Thumbnails, badges and the progress strip as the graph's cache state says (one
        source of truth): a node whose value went stale loses its thumbnail and badge."""
        state = self.jobs.cache_state()
        for node_id in state.stale:
            self.canvas.clear_result(node_id)
            self.jobs.computed.pop(node_id, None)
        if not self.runner.running() and not self.jobs.starting:
            dpg.configure_item(self.progress, overlay=state.strip(len(self.graph)))
            if not state.current:
                dpg.set_value(self.progress, 0.0)

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

    # --- keys (editor.shortcuts) -------------------------------------------------------
    def _ctrl(self) -> bool:
        down = dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl)
        return down or self.modifiers.ctrl

    def _shift(self) -> bool:
        down = dpg.is_key_down(dpg.mvKey_LShift) or dpg.is_key_down(dpg.mvKey_RShift)
        return down or self.modifiers.shift

    def typing(self) -> bool:
        """A text or number field has the keyboard (or a dialog is up): keys are text then."""
        fields = [*self.params.text_fields(), self.quick_search.input]
        active = (dpg.get_item_state(f).get("active", False) for f in fields)
        return self.files.dialog_open or self.scrubber.dialog_open or any(active)

    def _on_key(self, key: int) -> None:
        if self.quick_search.shown and self.quick_search.on_key(key):
            return
        if not self._ctrl() and self.params.on_key(key, self._shift()):
            return
        shortcuts.dispatch(
            key,
            self._ctrl(),
            self._shift(),
            self.actions,
            typing=self.typing(),
            over_canvas=bool(dpg.is_item_hovered(self.canvas.tag)),
        )

    def _stop_if_running(self) -> None:
        if not self.files.dialog_open and self.runner.running():
            self.stop()

    @property
    def actions(self) -> dict[str, Callable[[], Any]]:
        """What each shortcut (and its menu item) calls, by the name the table uses."""
        return {
            "new": self.files.new,
            "open": self.files.show_open_dialog,
            "save": self.files.save,
            "save_as": self.files.show_save_dialog,
            "quit": self.request_quit,
            "run": self.run,
            "continue": self.continue_drag,
            "stop": self._stop_if_running,
            "undo": self.undo,
            "redo": self.redo,
            "duplicate": self.duplicate_selected,
            "delete": self.delete_selected,
            "quick_search": self.open_quick_search,
            "fit": self.canvas.fit,
        }

    # --- quick search (editor.quick_search) ----------------------------------------------
    def open_quick_search(self) -> None:
        self.quick_search.open()

    def search(self, query: str) -> list[str]:
        return self.quick_search.search(query)

    def quick_add(self, query: str) -> str | None:
        return self.quick_search.add(query)

    @property
    def highlighted(self) -> str | None:
        return self.quick_search.highlighted

    @property
    def search_window(self) -> int:
        return self.quick_search.window

    @property
    def search_input(self) -> int:
        return self.quick_search.input

    @property
    def search_list(self) -> int:
        return self.quick_search.list

    # --- frames --------------------------------------------------------------------------
    def frame(self) -> None:
        """One UI frame: worker events, callbacks, then drawing. Errors never escape."""
        self._guarded(lambda: self.runner.drain(self.jobs.on_message))
        for job in dpg.get_callback_queue() or []:
            self._guarded(lambda job=job: _call(job))
        if self._changed:
            self._changed = False
            self._guarded(self.canvas.sync)
            if self.selected is not None and self.selected not in self.graph:
                self._guarded(lambda: self.select(None))
            self._guarded(self.show_cache_state)
            self._guarded(self.params.refresh)
            self._guarded(self.panel.refresh)
            self._guarded(self.update_title)
        if self.jobs.live_run_due():
            self._guarded(lambda: self.run("live"))
        self._guarded(self.scrubber.tick)
        if not self._laid_out:
            self._laid_out = True
            self._layout()
        if self._overlap_unchecked and self.canvas.drawn():
            self._overlap_unchecked = False
            self._guarded(self._hint_overlap)
        self._guarded(self.params.remember_focus)
        dpg.render_dearpygui_frame()
        if self.fps_log is not None:
            self.fps_log.frame(self._state())

    def _state(self) -> str:
        return "running" if self.runner.running() else "idle"

    def _has_news(self) -> bool:
        return (
            self._changed
            or self._overlap_unchecked  # one more frame: the nodes' drawn sizes
            or self.jobs.live_run_due()
            or not self.runner.events.empty()
            or self.scrubber.busy
        )

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


def _read_png(path: str) -> Any:
    """A PNG as an IMAGE-like uint8 array [H, W, 3], or None when it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.array(image.convert("RGB"))  # a writable copy
    except OSError:
        return None


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
        elif ns.project:
            for _ in range(2):  # nodes drawn (sizes known), framed, drawn, framed again
                editor.run_frames(2)
                editor.canvas.fit(layout=False)  # frames them by moving the view only
        elif not ns.project:
            editor.files.new_start()
        if getattr(ns, "run", False) and code == 0:
            editor.run()
            editor.wait_idle(timeout=600)
            report = editor.last_report
            code = 0 if report is not None and report.ok else 1
            editor.wait_idle(timeout=120)  # the image panel's own render, if it asked for one
        if ns.screenshot:
            editor.run_frames(getattr(ns, "frames", 3) or 3)
            editor.canvas.fit(layout=False)  # a run's badges may have grown the nodes
            editor.wait_idle(timeout=60)
            path = editor.screenshot(ns.screenshot)
            print(f"wrote {path}")
            return code
        editor.loop()
        return code
    finally:
        editor.close()
