"""The engine's own exception types.

Every message names the node, port, param, file or field at fault and says how to fix it."""

from __future__ import annotations

from nodegraph.budgets import cap


class CappedMessage:
    """Mixin for our exception types: the message is capped (budgets.cap), so one that quotes a
    hostile file's 20 MB string is still one short line (docs/PROJECTS.md, "Limits")."""

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (cap(args[0]),)
        super().__init__(*args)


class GraphError(CappedMessage, ValueError):
    """A graph edit or a graph's shape was refused: unknown type, bad link, bad param."""


class NodeError(CappedMessage, RuntimeError):
    """A node's compute failed; chained (`raise ... from`) to the original exception."""

    def __init__(self, node_id: str, type_name: str, cause: BaseException | str) -> None:
        self.node_id = node_id
        self.type_name = type_name
        self.cause = cause
        self.report = None  # the EvaluationReport of the run, attached by the evaluator
        detail = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cap(cause)}"
        super().__init__(f"node {node_id!r} ({type_name}) failed: {detail}")


class ProjectError(CappedMessage, ValueError):
    """A project file could not be loaded or saved; names the file, node and field."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        node: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.node = node
        self.field = field
        where = [
            f"file {path}" if path else "",
            f"node {node!r}" if node else "",
            f"field {field!r}" if field else "",
        ]
        prefix = ", ".join(w for w in where if w)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class BatchError(CappedMessage, ValueError):
    """A batch run was refused before any job ran: a bad sweep, a clash of overrides, an output
    folder another batch holds; names the option or file at fault and the fix."""


class Cancelled(Exception):
    """Raised inside a node (by ctx.progress / ctx.check_cancel) when the run was cancelled."""

    def __init__(self, node_id: str | None = None) -> None:
        self.node_id = node_id
        super().__init__(f"cancelled in node {node_id!r}" if node_id else "cancelled")
