"""Jobs: Run, Stop, Continue and live runs, and what their engine events show (node progress,
thumbnails, badges, the log, the progress strip); which computed values are still current.

It talks to the rest of the editor through the editor's small surface (graph, canvas, panel,
status and log) and keeps `computed`: node -> the upstream signature its value was made for."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg

from nodegraph import Graph, GraphError, events
from nodegraph.editor import queries
from nodegraph.editor.runner import EngineEvent, Job, JobDone, JobStarted
from nodegraph.evaluate import pick_targets
from nodegraph.views import port_view

if TYPE_CHECKING:
    from nodegraph.editor.app import Editor

LIVE_DEBOUNCE_S = 0.4
ERROR, OK, DIM, RUNNING = (255, 110, 100), (140, 220, 140), (150, 150, 160), (240, 200, 90)
WARNING = (255, 170, 60)


class Jobs:
    """Starts the editor's evaluations and shows their events."""

    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self.runner = editor.runner
        self.live = False
        self.live_due: float | None = None
        self.last_report: Any = None
        self.warnings: list[tuple[str, str]] = []  # (node, message) of the last run
        self.computed: dict[str, str] = {}  # node -> upstream signature its value is for
        self._settling: dict[str, dict] = {}  # node -> params it stopped at (NodeSettled)
        self.last_drag: str | None = None
        self.starting = False
        self._after_stop = ""

    @property
    def graph(self) -> Graph:
        return self.editor.graph

    def reset(self) -> None:
        """A new graph is shown: nothing computed for it yet."""
        self.runner.cancel()
        self.computed, self._settling, self.last_drag = {}, {}, None
        self.warnings, self.starting, self.live_due = [], False, None

    def cache_state(self) -> queries.CacheState:
        return queries.cache_state(self.graph, self.computed)

    def value_of(self, node_id: str, port: str | None) -> Any:
        """The node's output from an evaluation of its current upstream state, else None (a
        value computed before an edit upstream is never shown as if it were current)."""
        if not port or node_id not in self.graph:
            return None
        if self.computed.get(node_id) != queries.upstream_signature(self.graph, node_id):
            return None
        return self.graph.cached_value(node_id, port)

    def graph_changed(self, node_id: str | None) -> None:
        self.runner.invalidate(node_id)  # a run of what changed is stale: cancel it
        if self.live:
            self.live_due = time.monotonic() + LIVE_DEBOUNCE_S

    # --- starting and stopping -----------------------------------------------------------
    def run(self, kind: str = "run") -> Job | None:
        """Evaluates the graph's outputs and every node with an IMAGE output (thumbnails); a
        live run skips output nodes, so files are written only on Run."""
        g, ed = self.graph, self.editor
        if len(g) == 0:
            ed.status("nothing to run: add nodes first")
            return None
        try:
            outputs = pick_targets(g.snapshot(), None)
        except GraphError as exc:
            ed.report_error(str(exc))
            return None
        if kind == "live":
            outputs = [n for n in outputs if not g.type_of(n).is_output]
        targets = list(dict.fromkeys(outputs + queries.image_nodes(g)))
        if not targets:
            return None
        self.runner.cancel(("run", "live"))
        self.live_due = None
        self.warnings = []
        return self.runner.submit(Job(g, targets, kind))

    def stop(self) -> None:
        """Stops the run; a drag keeps its result so far (recorded as where it stopped)."""
        if self.runner.finish():
            self.editor.status("stopping: a running drag keeps its result so far", RUNNING)
        else:
            self.editor.status("nothing is running")

    def continue_drag(self, node_id: str | None = None) -> str | None:
        """Continue: the next stage of a drag from where it is (its tracked handles, the same
        targets) as a new point set and drag node beside it, then a run. The new drag's id."""
        g, ed = self.graph, self.editor
        drag = node_id or self._drag_to_continue()
        if drag is None:
            ed.status("select a drag node to continue (run or stop it first)", WARNING)
            return None
        port = queries.output_with_role(g, drag, "pairs")
        result = self.value_of(drag, port)
        if result is None:
            ed.status(f"run {drag} first (or stop it): Continue starts from its result", WARNING)
            return None
        tracked, targets = port_view(g.type_of(drag).output(port).type).pairs(result)
        try:
            stage = queries.continue_drag(g, drag, list(tracked), list(targets))
        except (GraphError, ValueError) as exc:
            ed.report_error(f"cannot continue {drag}: {exc}")
            return None
        ed.canvas.sync()
        ed.status(f"continued {drag}: {stage.points} -> {stage.drag}")
        ed.select(stage.drag)
        self.run()
        return stage.drag

    def _drag_to_continue(self) -> str | None:
        g = self.graph
        for candidate in (self.editor.selected, self.last_drag):
            if candidate in g and is_drag(g, candidate):
                return candidate
        return None

    def set_live(self, on: bool) -> None:
        self.live = bool(on)
        dpg.set_value(self.editor.live_box, self.live)
        if self.live:
            self.run("live")

    def live_run_due(self) -> bool:
        return self.live_due is not None and time.monotonic() >= self.live_due

    # --- events --------------------------------------------------------------------------
    def on_message(self, message: Any) -> None:
        if isinstance(message, JobStarted):
            if message.job.kind in ("run", "live") and message.job.graph is self.graph:
                self.starting = True
                dpg.configure_item(self.editor.progress, overlay="starting...")
        elif isinstance(message, EngineEvent):
            self._on_event(message.job, message.event)
        elif isinstance(message, JobDone):
            self._on_done(message)

    def _on_event(self, job: Job, event: Any) -> None:
        ed = self.editor
        if job.kind == "render" or job.graph is not self.graph:
            return
        if isinstance(event, events.NodeFinished):
            self._finished(job, event)
        elif isinstance(event, events.NodeSettled):
            self._settling[event.node_id] = event.params
        elif isinstance(event, events.NodeFailed):
            ed.canvas.set_progress(event.node_id, None)
            ed.canvas.set_status(event.node_id, "failed (see log)", ERROR)
            ed.report_error(str(event.error))
            ed.trust.offer(event.error)
        if job.kind == "values":
            return
        if isinstance(event, events.RunStarted):
            todo = ", ".join(event.to_compute) or "nothing (all cached)"
            ed.log(f"run on {event.device}: computing {todo}")
            dpg.configure_item(ed.device_text, default_value=f"device: {event.device}")
        elif isinstance(event, events.NodeStarted):
            ed.canvas.set_progress(event.node_id, 0.0, "starting")
            ed.canvas.set_status(event.node_id, "running", RUNNING)
            dpg.configure_item(ed.progress, overlay=f"{event.node_id}...")
            ed.log(f"{event.node_id}: {event.reason}", DIM)
            self._follow(event.node_id)
        elif isinstance(event, events.NodeProgress):
            self._progress(event)
        elif isinstance(event, events.NodeLog):
            ed.log(f"{event.node_id}: {event.message}")
        elif isinstance(event, events.NodeWarning):
            self.warnings.append((event.node_id, event.message))
            ed.canvas.set_status(event.node_id, "warning (see log)", WARNING)
            ed.log(f"{event.node_id}: warning: {event.message}", WARNING)
        elif isinstance(event, events.RunCancelled):
            ed.log(f"cancelled{' in ' + event.node_id if event.node_id else ''}", RUNNING)
            if event.node_id:
                ed.canvas.set_progress(event.node_id, None)
                ed.canvas.set_status(event.node_id, "cancelled", RUNNING)

    def _follow(self, node_id: str) -> None:
        """The panel shows the drag being computed, unless the user is in a gesture on the
        panel or is editing another node's points (a live run must not take the view away)."""
        ed = self.editor
        if not queries.output_with_role(self.graph, node_id, "image") or ed.panel.gesture:
            return
        if is_drag(self.graph, node_id):
            self.last_drag = node_id
        editing = (
            ed.selected is not None and queries.editing_mode(self.graph, ed.selected) != "view"
        )
        if ed.selected != node_id and not (self.live and editing):
            ed.select(node_id)

    def _progress(self, event: events.NodeProgress) -> None:
        ed = self.editor
        fraction = event.step / event.total if event.total else 0.0
        text = f"{event.step}/{event.total}" + (f"  {event.message}" if event.message else "")
        ed.canvas.set_progress(event.node_id, fraction, text)
        dpg.set_value(ed.progress, fraction)
        dpg.configure_item(ed.progress, overlay=f"{event.node_id}: {text}")
        if event.preview is not None:
            ed.canvas.set_thumbnail(event.node_id, event.preview)
        if event.preview is not None or event.points is not None:
            ed.panel.show_preview(event.node_id, event.preview, event.points)

    def _finished(self, job: Job, event: events.NodeFinished) -> None:
        ed, node = self.editor, event.node_id
        settled = self._settling.pop(node, None)
        if settled is not None and node in self.graph:
            self._keep_stopped(node, settled)
        elif node in job.signatures:
            self.computed[node] = job.signatures[node]
        if job.kind == "values":
            return
        ed.canvas.set_progress(node, None)
        stopped_at = self.graph.params(node).get(queries.STOPPED_AT) if node in self.graph else None
        if stopped_at is not None:
            ed.canvas.set_status(node, f"kept at step {stopped_at}", RUNNING)
        elif node not in {n for n, _ in self.warnings}:
            ed.canvas.set_status(
                node,
                "cached" if event.cached else f"done {event.seconds:.2f} s",
                DIM if event.cached else OK,
            )
        self.thumbnail(node)
        for path in event.written:
            ed.log(f"{node}: wrote {path}", OK)

    def _keep_stopped(self, node: str, params: dict) -> None:
        """A drag stopped by the user: the params it reports reproduce the kept result (its
        `stopped_at`), set as one undo step; the result is cached under them."""
        ed = self.editor
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        try:
            with self.graph.transaction(f"stop {node} at {shown}"):
                self.graph.set(node, **params)
        except GraphError as exc:
            ed.report_error(str(exc))
            return
        self.computed[node] = queries.upstream_signature(self.graph, node)
        self.last_drag = node
        ed.log(f"{node}: stopped and kept; set {shown} (Ctrl+Z undoes it)", RUNNING)

    def _on_done(self, done: JobDone) -> None:
        ed, job = self.editor, done.job
        if done.error is not None:
            ed.report_error(
                str(done.error)
                if isinstance(done.error, GraphError)
                else f"{type(done.error).__name__}: {done.error}"
            )
            ed.trust.offer(done.error)
        if job.kind == "render":
            key, render_id, port = job.tag
            report = done.report
            image = report.outputs.get(render_id, {}).get(port) if report is not None else None
            cancelled = job.cancel.is_set() or (report is not None and report.cancelled)
            ed.panel.rendered(key, image, cancelled=cancelled)
            return
        if job.graph is not self.graph:
            return
        if job.kind == "values":
            ed.panel.refresh()
            return
        self.starting = False
        report = done.report
        self.last_report = report
        dpg.set_value(ed.progress, 1.0 if report is not None and report.ok else 0.0)
        if report is None:
            dpg.configure_item(ed.progress, overlay="run refused (see the status line)")
        else:
            self._run_summary(report, done.seconds, after_stop=job.tag == "after stop")
            for node_id in report.nodes:
                self.thumbnail(node_id)
            kept = any(r.settled for r in report.nodes.values())
            done_nodes = set(report.computed) | set(report.cached)
            left = [n for n in job.targets or [] if n not in done_nodes]
            if kept and job.kind == "run" and left and not report.failed:
                # What reads the kept drag (an Export) runs on it; the drag itself is cached.
                self._after_stop = ed.status_message
                follow = self.run()
                if follow is not None:
                    follow.tag = "after stop"
        ed.panel.end_preview()

    def _run_summary(self, report: Any, seconds: float, after_stop: bool = False) -> None:
        ed = self.editor
        kept = [n for n, r in report.nodes.items() if r.settled]
        summary = f"{len(report.computed)} computed, {len(report.cached)} cached, {len(report.failed)} failed"
        summary += f" in {seconds:.1f} s" + (" (cancelled)" if report.cancelled else "")
        dpg.configure_item(ed.progress, overlay=summary)
        if kept:
            steps = ", ".join(
                f"{n} at step {report.nodes[n].settled.get('stopped_at', report.nodes[n].settled.get('steps'))}"
                for n in kept
            )
            ed.status(f"stopped: kept {steps}; Continue goes on from there", RUNNING)
        elif after_stop and report.ok:
            ed.status(f"{self._after_stop}; then ran {', '.join(report.computed)}", RUNNING)
        elif self.warnings:
            node, message = self.warnings[0]
            ed.status(f"run finished with a warning: {node} {message}", WARNING)
        elif report.ok:
            ed.status(f"run finished: {summary}", OK)
        elif report.cancelled:
            ed.status("run cancelled", RUNNING)

    def thumbnail(self, node_id: str) -> None:
        if node_id not in self.graph:
            return
        port = queries.output_with_role(self.graph, node_id, "image")
        image = self.value_of(node_id, port) if port else None
        if image is not None:
            self.editor.canvas.set_thumbnail(node_id, image)


def is_drag(g: Graph, node_id: str) -> bool:
    """A node that stops early with a result (a drag) and reads and gives point pairs."""
    return (
        g.type_of(node_id).stops_early
        and queries.input_with_role(g, node_id, "pairs") is not None
        and queries.output_with_role(g, node_id, "pairs") is not None
    )
