"""Evaluation events for listeners (editor, CLI progress bar) and the cancel token.

Events are delivered synchronously, on the evaluating thread, to the `on_event` callback."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


class CancelToken(threading.Event):
    """Set it (from any thread) to stop a run between nodes and inside long nodes."""

    def cancel(self) -> None:
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
class NodeFailed:
    node_id: str
    error: Exception


@dataclass
class Cancelled:
    """The run was cancelled; node_id is the node that was running, None if between nodes."""

    node_id: str | None


@dataclass
class RunFinished:
    report: Any  # EvaluationReport


Event = (
    RunStarted
    | NodeStarted
    | NodeProgress
    | NodeLog
    | NodeFinished
    | NodeFailed
    | Cancelled
    | RunFinished
)
