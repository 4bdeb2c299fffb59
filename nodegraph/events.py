"""Evaluation events for listeners (editor, CLI progress bar) and the cancel token.

Events are delivered synchronously, on the evaluating thread, to the `on_event` callback."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


class CancelToken(threading.Event):
    """Set it (from any thread) to stop a run between nodes and inside long nodes.

    `cancel()` throws the running node's work away. `finish()` stops the run too, but a node
    that can end early (`Node.stops_early`, e.g. a drag) keeps what it has so far as its result
    and says which params reproduce it (`NodeSettled`); other nodes are cancelled."""

    keep_partial = False

    def cancel(self) -> None:
        self.keep_partial = False
        self.set()

    def finish(self) -> None:
        self.keep_partial = True
        self.set()


@dataclass
class RunStarted:
    targets: list[str]
    to_compute: list[str]
    device: str


@dataclass
class NodeStarted:
    node_id: str
    type_name: str
    reason: str


@dataclass
class NodeProgress:
    node_id: str
    step: int
    total: int
    preview: Any = None  # an optional image (tensor or ndarray) to show while the node works
    message: str | None = None
    points: list | None = None  # optional (x, y) positions to draw over the preview (e.g. tracked handles)


@dataclass
class NodeLog:
    node_id: str
    message: str


@dataclass
class NodeFinished:
    node_id: str
    cached: bool
    seconds: float
    written: list[str] = field(default_factory=list)


@dataclass
class NodeWarning:
    """The node finished but something is off that the user should see (e.g. a drag that did
    not reach its targets)."""

    node_id: str
    message: str


@dataclass
class NodeSettled:
    """The node stopped early on `CancelToken.finish()` and kept its result so far; `params`
    (merged over the node's own) reproduce that result, which is cached under them."""

    node_id: str
    params: dict[str, Any]


@dataclass
class NodeFailed:
    node_id: str
    error: Exception


@dataclass
class RunCancelled:
    """The run was cancelled; node_id is the node that was running, None if between nodes.
    (The exception a node's ctx.progress raises on cancel is nodegraph.errors.Cancelled.)"""

    node_id: str | None


@dataclass
class RunFinished:
    report: Any  # EvaluationReport


Event = (
    RunStarted
    | NodeStarted
    | NodeProgress
    | NodeLog
    | NodeWarning
    | NodeSettled
    | NodeFinished
    | NodeFailed
    | RunCancelled
    | RunFinished
)
