"""Lazy pull evaluation: fingerprint what the requested outputs need, reuse cached results,
compute the rest in topological order, with events, cancel and a report that says why."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from nodegraph import events as ev
from nodegraph.bound import BoundFolder, OutputRoot, WriteLimits
from nodegraph.context import Context
from nodegraph.errors import Cancelled, GraphError, NodeError
from nodegraph.fingerprint import Fingerprint, canonical, input_part
from nodegraph.node import file_key
from nodegraph.report import EvaluationReport, NodeRecord
from nodegraph.serialise import snapshot_to_json
from nodegraph.trust import confine

if TYPE_CHECKING:
    from nodegraph.graph import Graph, GraphSnapshot


def resolve_device(device: str | None) -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'mps' (an Apple GPU), else 'cpu'; an
    unavailable 'cuda' or 'mps' is a GraphError. (MPS is untested here: no Mac was available.)"""
    import torch

    device = str(device or "auto")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if mps_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GraphError(
            f"device {device!r} was asked for but torch sees no CUDA GPU; use device 'cpu' or 'auto'"
        )
    if device.startswith("mps") and not mps_available():
        raise GraphError(
            f"device {device!r} was asked for but torch sees no Apple GPU (MPS); use device 'cpu' or 'auto'"
        )
    try:
        torch.device(device)
    except (RuntimeError, TypeError):
        raise GraphError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'mps'") from None
    return device


def mps_available() -> bool:
    """True when this torch build has the Metal backend and the Mac has a GPU for it."""
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_targets(snap: GraphSnapshot, outputs: list[str] | str | None) -> list[str]:
    """The requested node ids; default every output node (is_output), else every sink."""
    if outputs is None:
        chosen = [n for n, s in snap.nodes.items() if s.cls.is_output]
        if not chosen:
            fed = {link.src for link in snap.links}
            chosen = [n for n in snap.nodes if n not in fed]
        return chosen
    outputs = [outputs] if isinstance(outputs, str) else list(outputs)
    for node_id in outputs:
        if str(node_id) not in snap.nodes:
            known = ", ".join(snap.nodes) or "the graph is empty"
            raise GraphError(f"cannot evaluate {str(node_id)!r}: no such node; nodes: {known}")
    return [str(n) for n in outputs]


class _Run:
    """One evaluation: plans from fingerprints, then computes in topological order."""

    def __init__(
        self,
        graph: Graph,
        snap: GraphSnapshot,
        targets: list[str],
        device: str,
        emit: Callable,
        cancel: ev.CancelToken,
        output_dir: Path,
        output_root: OutputRoot | None = None,
    ) -> None:
        self.graph, self.snap = graph, snap
        self.targets, self.device, self.emit, self.cancel = targets, device, emit, cancel
        self.project_dir = graph.project_dir
        self.output_dir = output_dir
        self.output_root = output_root
        self.report = EvaluationReport(list(targets), device)
        self.contexts: dict[str, Context] = {}
        self.nodes: dict[str, Any] = {}
        self.fingerprints: dict[str, Fingerprint | None] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.errors: list[NodeError] = []
        self.stale: dict[str, str] = {}  # node -> which file it wrote is gone or changed
        self._project_json: dict[str, Any] | None = None
        self._project_bytes: int | None = None

    def order(self) -> list[str]:
        dag = self.snap.dag()
        needed = set(self.targets)
        for target in self.targets:
            needed |= nx.ancestors(dag, target)
        order = list(nx.topological_sort(dag.subgraph(needed)))
        for node_id in order:
            state, linked = self.snap.nodes[node_id], self.snap.inputs_of(node_id)
            for decl in state.cls.inputs:
                if not decl.optional and decl.name not in linked:
                    raise GraphError(
                        f"node {node_id!r} ({state.cls.type_name}) input {decl.name!r} ({decl.type}) is not linked; "
                        f"connect an output of type {decl.type} to it"
                    )
        return order

    def project_json(self) -> dict[str, Any]:
        if self._project_json is None:
            self._project_json = snapshot_to_json(self.snap, inline_tensors=True)
        return self._project_json

    def project_bytes(self) -> int:
        """The size of the project as a PNG embeds it (uncompressed: an upper bound)."""
        if self._project_bytes is None:
            self._project_bytes = len(json.dumps(self.project_json(), separators=(",", ":")))
        return self._project_bytes

    def fingerprint(self, node_id: str) -> Fingerprint | None:
        """Named parts of the cache key; None when an upstream node or impure_key failed."""
        state = self.snap.nodes[node_id]
        record = NodeRecord(node_id, state.cls.type_name, "skipped", "")
        self.report.nodes[node_id] = record
        ctx = Context(
            node_id, dict(state.params), self.device, self.cancel, self.emit,
            self.project_dir, self.output_dir, self.project_json, record, state.cls.stops_early,
        )  # fmt: skip
        self.contexts[node_id] = ctx
        ctx.permissions = self.graph.permissions
        ctx.share = self.graph.share or Context.share
        ctx.output_root = self.output_root
        try:
            node = self.nodes[node_id] = state.cls()
            node.ctx = ctx
        except Exception as exc:
            self.fail(node_id, exc)
            return None
        parts = {
            "type": state.cls.type_name,
            "version": str(state.cls.version),
            "device": self.device,
        }
        parts.update(
            {f"param.{name}": canonical(value) for name, value in sorted(state.params.items())}
        )
        if not state.cls.pure:
            try:
                parts["impure"] = str(node.impure_key(ctx.params))
            except Exception as exc:
                self.fail(node_id, exc)
                return None
        sources = {}
        linked = self.snap.inputs_of(node_id)
        for decl in state.cls.inputs:
            link = linked.get(decl.name)
            if link is None:
                parts[f"input.{decl.name}"] = "unlinked"
                continue
            upstream = self.fingerprints.get(link.src)
            if upstream is None:
                record.reason = f"input {decl.name}: upstream node {link.src} failed"
                return None
            parts[f"input.{decl.name}"] = input_part(upstream, link.output)
            sources[decl.name] = link.src
        fp = Fingerprint(parts, sources)
        record.fingerprint = fp
        return fp

    def fail(self, node_id: str, exc: Exception) -> NodeError:
        record = self.report.nodes[node_id]
        error = exc if isinstance(exc, NodeError) else NodeError(node_id, record.type_name, exc)
        if error is not exc:
            error.__cause__ = exc
        record.status, record.reason, record.error = "failed", str(exc), error
        self.errors.append(error)
        self.emit(ev.NodeFailed(node_id, error))
        return error

    def compute(self, node_id: str) -> None:
        state, record = self.snap.nodes[node_id], self.report.nodes[node_id]
        inputs = {decl.name: None for decl in state.cls.inputs}
        for name, link in self.snap.inputs_of(node_id).items():
            inputs[name] = self.results[link.src][link.output]
        reason = record.fingerprint.explain(self.graph.last_fingerprints.get(node_id))
        if reason == "unchanged":
            reason = self.stale.get(node_id, "not in the cache (evicted or cleared)")
        record.reason = reason
        self.emit(ev.NodeStarted(node_id, record.type_name, record.reason))
        start = time.perf_counter()
        try:
            outputs = self.nodes[node_id].compute(self.contexts[node_id], **inputs)
            _check_outputs(state.cls, outputs)
        finally:
            record.seconds = time.perf_counter() - start
        if record.settled is not None:
            self.settle(node_id)
        files = {path: file_key(path) for path in record.written}
        self.graph.cache.put(record.fingerprint.digest, outputs, files)
        self.graph.last_fingerprints[node_id] = record.fingerprint
        self.results[node_id] = outputs
        record.status = "computed"
        self.emit(ev.NodeFinished(node_id, False, record.seconds, list(record.written)))

    def settle(self, node_id: str) -> None:
        """A node kept its result on finish(): file it under the params that reproduce it."""
        state, record = self.snap.nodes[node_id], self.report.nodes[node_id]
        settled = state.cls.check_params(node_id, record.settled, base=state.params)
        parts = dict(record.fingerprint.parts)
        parts.update({f"param.{name}": canonical(settled[name]) for name in record.settled})
        record.fingerprint = Fingerprint(parts, record.fingerprint.sources)
        shown = ", ".join(f"{name}={value!r}" for name, value in record.settled.items())
        record.reason += f"; stopped early, kept as {shown}"
        self.emit(ev.NodeSettled(node_id, {n: settled[n] for n in record.settled}))


def _check_outputs(cls: type, outputs: Any) -> None:
    if not isinstance(outputs, dict):
        raise TypeError(f"compute must return a dict of outputs, got {type(outputs).__name__}")
    declared = {o.name for o in cls.outputs}
    missing, unknown = declared - outputs.keys(), outputs.keys() - declared
    if missing or unknown:
        raise ValueError(
            f"compute returned outputs {sorted(outputs)}; declared outputs are {sorted(declared)}"
        )


def evaluate(
    graph: Graph,
    outputs: list[str] | str | None = None,
    device: str = "auto",
    on_event: Callable[[Any], None] | None = None,
    cancel: ev.CancelToken | None = None,
    raise_on_error: bool = True,
    output_dir: str | Path | BoundFolder | None = None,
) -> EvaluationReport:
    """Evaluates what `outputs` depend on. A failed node raises NodeError (after NodeFailed and
    RunFinished events; `error.report` holds the report) unless raise_on_error=False; a
    cancelled run returns a report with `cancelled=True` and raises nothing. `output_dir` may
    be a folder already open (a batch job's): its writes then go into that very folder."""
    snap = graph.snapshot()
    targets, device = pick_targets(snap, outputs), resolve_device(device)
    given = output_dir if isinstance(output_dir, BoundFolder) else None
    out_dir = given.path if given is not None else output_dir or graph.output_dir
    # Links in the parents are the user's own; the folder itself is opened without following
    # one (OutputRoot), so a link swapped in for it is refused, never followed outside.
    out_path = _parents_resolved(Path(out_dir)) if out_dir else Path(graph.project_dir)
    root = OutputRoot(out_path, getattr(graph, "write_limits", None) or WriteLimits(), given)
    try:
        return _evaluate(graph, snap, targets, device, on_event, cancel, raise_on_error, root)
    finally:
        root.close()


def _parents_resolved(path: Path) -> Path:
    path = path.expanduser().absolute()
    return path.parent.resolve() / path.name if path.name not in ("", "..") else path.resolve()


def _evaluate(
    graph, snap, targets, device, on_event, cancel, raise_on_error, root: OutputRoot
) -> EvaluationReport:
    emit = on_event or (lambda event: None)
    run = _Run(graph, snap, targets, device, emit, cancel if cancel is not None else ev.CancelToken(),
               root.path, root)  # fmt: skip
    start = time.perf_counter()
    order = run.order()
    for node_id in order:
        run.fingerprints[node_id] = run.fingerprint(node_id)
    plan = _plan(run, order)
    _check_writes(run, plan)
    emit(
        ev.RunStarted(list(run.targets), [n for n in order if plan.get(n) == "compute"], run.device)
    )
    error = _execute(run, order, plan, raise_on_error)
    report = run.report
    report.nodes = {
        n: report.nodes[n] for n in order if n in plan or report.nodes[n].status == "failed"
    }
    report.outputs = {t: run.results[t] for t in run.targets if t in run.results}
    report.seconds = time.perf_counter() - start
    emit(ev.RunFinished(report))
    if error is not None and raise_on_error:
        error.report = report
        raise error
    return report


def _check_writes(run: _Run, plan: dict[str, str]) -> None:
    """The trust rule before anything runs: each path param a computing node writes to stays in
    the output folder unless the user allowed otherwise (TrustError names the node and param);
    and what the computing nodes will write fits the run's write budget (WriteBudgetError)."""
    files = nbytes = 0
    for node_id in (n for n, step in plan.items() if step == "compute"):
        state = run.snap.nodes[node_id]
        for param in (p for p in state.cls.params if p.writes and state.params.get(p.name)):
            confine(
                state.params[param.name], run.output_dir, run.graph.permissions, node_id,
                param.name, run.graph.path,
            )  # fmt: skip
        linked = frozenset(run.snap.inputs_of(node_id))
        more_files, more_bytes = state.cls.planned_writes(state.params, run.project_bytes, linked)
        files, nbytes = files + more_files, nbytes + more_bytes
    if run.output_root is not None and files:
        what = f"the plan ({files} files, at least {nbytes / 2**20:.1f} MiB)"
        run.output_root.budget.check(files, nbytes, what, run.graph.path)


def _plan(run: _Run, order: list[str]) -> dict[str, str]:
    """Which needed nodes come from the cache and which must compute (walking back from targets)."""
    plan: dict[str, str] = {}
    wanted = set(run.targets)
    for node_id in reversed(order):
        if node_id not in wanted:
            continue
        fp = run.fingerprints[node_id]
        cached = run.graph.cache.get(fp.digest) if fp is not None else None
        if cached is not None and (changed := _changed_files(run.graph.cache.files(fp.digest))):
            run.stale[node_id] = f"{changed} changed or was removed since this node wrote it"
            cached = None
        if cached is not None:
            plan[node_id] = "cached"
            run.results[node_id] = cached
            continue
        plan[node_id] = "compute"
        wanted |= {link.src for link in run.snap.inputs_of(node_id).values()}
    return plan


def _changed_files(files: dict[str, str]) -> str:
    """The first file a cached node wrote that is no longer as it was written; "" when none."""
    return next((path for path, state in files.items() if file_key(path) != state), "")


def _execute(
    run: _Run, order: list[str], plan: dict[str, str], raise_on_error: bool
) -> NodeError | None:
    for node_id in order:
        record, step = run.report.nodes[node_id], plan.get(node_id)
        if step is None or record.status == "failed":
            continue
        if step == "cached":
            _mark_cached(run, node_id)
            continue
        blocked = _blocked_by(run, node_id)
        if blocked or run.cancel.is_set() or (run.errors and raise_on_error):
            record.status = "skipped"
            record.reason = blocked or (
                _cancel_reason(run.cancel) if run.cancel.is_set() else "run stopped after a failure"
            )
            if run.cancel.is_set() and not run.report.cancelled:
                run.report.cancelled = True
                run.emit(ev.RunCancelled(None))
            continue
        same = run.graph.cache.get(record.fingerprint.digest)  # made earlier in this run
        if same is not None and node_id not in run.stale:
            run.results[node_id] = same
            _mark_cached(run, node_id)
            continue
        try:
            run.compute(node_id)
        except Cancelled:
            record.status, record.reason = "cancelled", "cancelled while running"
            run.report.cancelled = True
            run.emit(ev.RunCancelled(node_id))
        except Exception as exc:
            run.fail(node_id, exc)
    return run.errors[0] if run.errors else None


def _cancel_reason(cancel: ev.CancelToken) -> str:
    return "run stopped by the user" if cancel.keep_partial else "run cancelled"


def _mark_cached(run: _Run, node_id: str) -> None:
    record = run.report.nodes[node_id]
    previous = run.graph.last_fingerprints.get(node_id)
    changes = record.fingerprint.explain(previous)
    record.status = "cached"
    if previous is None:
        record.reason = "same fingerprint as a cached result"
    elif changes == "unchanged":
        record.reason = "unchanged"
    else:
        record.reason = f"result of an earlier run ({changes})"
    run.graph.last_fingerprints[node_id] = record.fingerprint
    run.emit(ev.NodeFinished(node_id, True, 0.0))


def _blocked_by(run: _Run, node_id: str) -> str:
    for name, link in run.snap.inputs_of(node_id).items():
        if link.src not in run.results:
            status = run.report.nodes[link.src].status
            return f"input {name}: upstream node {link.src} {status}"
    return ""
