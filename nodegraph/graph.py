"""Graph: typed nodes and links (a GraphStore), edited through an undoable Python API.

Graph = store + undo history + lock + the public API. The editor and scripts call the same
methods; every refusal is a GraphError naming both ends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from nodegraph import commands as cmd
from nodegraph.cache import Cache
from nodegraph.errors import GraphError
from nodegraph.node import Node
from nodegraph.registry import Registry, registry
from nodegraph.store import GraphStore, Link, NodeState, as_pos, port_names
from nodegraph.trust import Permissions

if TYPE_CHECKING:
    from nodegraph.context import JobShare
    from nodegraph.events import CancelToken
    from nodegraph.fingerprint import Fingerprint
    from nodegraph.report import EvaluationReport

@dataclass(frozen=True)
class PortRef:
    """A node's port by name: `handle["latent"]`, for `g.connect(a["latent"], b["latent"])`."""

    node: str
    port: str


@dataclass(frozen=True)
class GraphChange:
    """Sent to subscribers after each change: kind is add, remove, connect, disconnect, set, move."""

    kind: str
    node_id: str | None
    revision: int


@dataclass(frozen=True)
class GraphSnapshot:
    """An immutable view of a graph at one moment, for evaluation and saving."""

    nodes: dict[str, NodeState]
    links: list[Link]
    meta: dict[str, Any]
    path: str | None

    def inputs_of(self, node_id: str) -> dict[str, Link]:
        return {link.input: link for link in self.links if link.dst == node_id}

    def dag(self) -> nx.DiGraph:
        dag = nx.DiGraph()
        dag.add_nodes_from(self.nodes)
        dag.add_edges_from((link.src, link.dst) for link in self.links)
        return dag


class NodeHandle(str):
    """A node's id (a str) that also reads the node's live state from its graph."""

    _graph: Graph

    def __new__(cls, graph: Graph, node_id: str) -> NodeHandle:
        handle = super().__new__(cls, node_id)
        handle._graph = graph
        return handle

    @property
    def id(self) -> str:
        return str(self)

    @property
    def type(self) -> str:
        return self._graph.type_of(self).type_name

    @property
    def cls(self) -> type[Node]:
        return self._graph.type_of(self)

    @property
    def params(self) -> dict[str, Any]:
        return self._graph.params(self)

    @property
    def pos(self) -> tuple[float, float]:
        return self._graph.pos(self)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return PortRef(str(self), key)
        return str.__getitem__(self, key)

    def __repr__(self) -> str:
        return f"<node {str(self)!r}>"


class Graph:
    """A node graph. Build it with add/connect/set, run it with evaluate, save it with save."""

    def __init__(self, registry: Registry | None = None, cache: Cache | None = None) -> None:
        self.registry = registry if registry is not None else _default_registry()
        self.cache = cache if cache is not None else Cache()
        self.last_fingerprints: dict[str, Fingerprint] = {}
        self.meta: dict[str, Any] = {}
        self.path: str | None = None
        self.base_dir: str | None = None  # where relative paths resolve when there is no path
        self.output_dir: str | None = None
        # What runs may do beyond the trust rule (nodegraph/trust.py): everything for a graph
        # built in code or the editor; nothing for one loaded from a file until the user allows.
        self.permissions = Permissions.everything()
        self.share: JobShare | None = None  # a batch worker's jobs at once (context.JobShare)
        self.revision = 0
        self.store = GraphStore(on_change=self._changed)
        self._lock = threading.RLock()
        self._listeners: list[Callable[[GraphChange], None]] = []
        self._history = cmd.History(self.store)

    # --- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, node: object) -> bool:
        return node in self.store

    def __iter__(self) -> Iterator[NodeHandle]:
        return iter(self.nodes)

    def __repr__(self) -> str:
        return f"<Graph {len(self)} nodes, {self.store.linked_pairs()} linked pairs>"

    @property
    def nodes(self) -> list[NodeHandle]:
        return [NodeHandle(self, n) for n in self.store.node_ids()]

    def node(self, node_id: str) -> NodeHandle:
        self._require(node_id)
        return NodeHandle(self, str(node_id))

    @property
    def links(self) -> list[Link]:
        with self._lock:
            return self.store.links()

    def links_into(self, node: str) -> dict[str, Link]:
        """Links feeding `node`, by input name."""
        return self.store.links_into(self._require(node))

    def links_from(self, node: str) -> list[Link]:
        return self.store.links_from(self._require(node))

    def type_of(self, node: str) -> type[Node]:
        return self.store.node_class(self._require(node))

    def params(self, node: str) -> dict[str, Any]:
        return self.store.params(self._require(node))

    def pos(self, node: str) -> tuple[float, float]:
        return self.store.pos(self._require(node))

    def snapshot(self) -> GraphSnapshot:
        with self._lock:
            nodes = {n: self.store.state(n) for n in self.store.node_ids()}
            return GraphSnapshot(nodes, self.links, dict(self.meta), self.path)

    # --- editing (undoable) --------------------------------------------------------------
    def add(
        self,
        type_name: str | type[Node],
        id: str | None = None,
        pos: tuple[float, float] = (0.0, 0.0),
        **params: Any,
    ) -> NodeHandle:
        """Adds a node of a registered type; `id` defaults to the type name in lower case."""
        cls = type_name if isinstance(type_name, type) else self.registry.get(type_name)
        with self._lock:
            node_id = self.store.free_id(cls) if id is None else self.store.check_new_id(str(id))
            checked = cls.check_params(node_id, params)
            self._history.run(cmd.AddNode(node_id, cls, checked, as_pos(pos, node_id)))
        return NodeHandle(self, node_id)

    def remove(self, node: str) -> None:
        """Removes a node with its links (undo restores both)."""
        with self._lock:
            self._history.run(cmd.RemoveNode(self._require(node)))

    def connect(
        self,
        src: Any,
        output: Any = None,
        dst: Any = None,
        input: str | None = None,
        replace: bool = False,
    ) -> Link:
        """Links src.output -> dst.input; also `connect(a["out"], b["in"])`. `replace` unlinks
        whatever fed the input first, in the same undo step."""
        if isinstance(src, PortRef) and isinstance(output, PortRef):
            src, output, dst, input = src.node, src.port, output.node, output.port
        with self._lock:
            link = self.store.check_link(str(src), output, str(dst), input, replace)
            existing = self.links_into(link.dst).get(link.input)
            with self.transaction("connect"):
                if existing is not None:
                    self._history.run(cmd.Disconnect(existing))
                self._history.run(cmd.Connect(link))
        return link

    def disconnect(self, node: Any, input: str | None = None) -> Link:
        """Unlinks whatever feeds `node.input`; also `disconnect(b["latent"])`."""
        if isinstance(node, PortRef):
            node, input = node.node, node.port
        with self._lock:
            node = self._require(node)
            link = self.links_into(node).get(input)
            if link is None:
                cls = self.type_of(node)
                if cls.input(input) is None:
                    raise GraphError(
                        f"node {node!r} ({cls.type_name}) has no input {input!r}; its inputs: {port_names(cls.inputs)}"
                    )
                raise GraphError(f"input {node}.{input} is not linked; nothing to disconnect")
            self._history.run(cmd.Disconnect(link))
        return link

    def set(self, node: str, merge: bool = False, **params: Any) -> None:
        """Sets params, validated; one undo step (`merge=True` folds repeated sets of the same
        params of the same node into one step, as a slider drag wants)."""
        if not params:
            return
        with self._lock:
            node = self._require(node)
            current = self.store.params(node)
            checked = self.type_of(node).check_params(node, params, base=current)
            new = {name: checked[name] for name in params}
            old = {name: current[name] for name in params}
            label = f"set {node}.{', '.join(new)}"  # what Undo names: "undid set stage1.lr"
            self._history.run(cmd.SetParams(node, old, new, merge, label), merge=merge)

    def move(self, node: str, pos: tuple[float, float], merge: bool = False) -> None:
        """Moves a node in the editor; undoable (`merge=True` for a drag)."""
        with self._lock:
            node = self._require(node)
            new = as_pos(pos, node)
            self._history.run(cmd.MoveNode(node, self.pos(node), new, mergeable=merge), merge=merge)

    @contextmanager
    def transaction(self, label: str = "edit") -> Iterator[None]:
        """Groups the edits of a `with` block into one undo step; an exception rolls them back."""
        with self._lock, self._history.transaction(label):
            yield

    def undo(self) -> bool:
        with self._lock:
            return self._history.undo()

    def redo(self) -> bool:
        with self._lock:
            return self._history.redo()

    @property
    def can_undo(self) -> bool:
        return bool(self._history.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self._history.redo_stack)

    @property
    def undo_label(self) -> str | None:
        return self._history.undo_stack[-1].label if self._history.undo_stack else None

    @property
    def redo_label(self) -> str | None:
        return self._history.redo_stack[-1].label if self._history.redo_stack else None

    @property
    def dirty(self) -> bool:
        """True when there are edits since the last save or load."""
        return self._history.dirty

    def mark_clean(self) -> None:
        self._history.mark_clean()

    def subscribe(self, listener: Callable[[GraphChange], None]) -> Callable[[], None]:
        """Calls `listener(GraphChange)` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # --- evaluation and projects ---------------------------------------------------------
    def evaluate(
        self,
        outputs: list[str] | str | None = None,
        device: str = "auto",
        on_event: Callable[[Any], None] | None = None,
        cancel: CancelToken | None = None,
        raise_on_error: bool = True,
        output_dir: str | None = None,
    ) -> EvaluationReport:
        """Pulls the requested nodes (default: output nodes, else sinks); see nodegraph.evaluate."""
        from nodegraph.evaluate import evaluate

        return evaluate(self, outputs, device, on_event, cancel, raise_on_error, output_dir)

    def value(self, node: str, port: str | None = None, **kwargs: Any) -> Any:
        """Evaluates one node and returns one output (the only one when `port` is None)."""
        node = self._require(node)
        cls = self.type_of(node)
        if port is None:
            if len(cls.outputs) != 1:
                raise GraphError(
                    f"node {node!r} ({cls.type_name}) has outputs {port_names(cls.outputs)}; name the port"
                )
            port = cls.outputs[0].name
        elif cls.output(port) is None:
            raise GraphError(
                f"node {node!r} ({cls.type_name}) has no output {port!r}; its outputs: {port_names(cls.outputs)}"
            )
        return self.evaluate([node], **kwargs).outputs[node][port]

    def cached_value(self, node: str, port: str) -> Any:
        """A node's output from its last evaluation if the cache still holds it, else None;
        never computes (the editor shows what is there without starting a run)."""
        fp = self.last_fingerprints.get(self._require(node))
        outputs = self.cache.get(fp.digest) if fp is not None else None
        return outputs.get(port) if outputs else None

    def save(self, path: str | Path) -> None:
        from nodegraph.project import save

        save(self, path)

    @classmethod
    def load(cls, path: str | Path, registry: Registry | None = None) -> Graph:
        from nodegraph.project import load

        return load(path, registry)

    def to_json(self) -> dict[str, Any]:
        from nodegraph.serialise import snapshot_to_json

        return snapshot_to_json(self.snapshot(), inline_tensors=True)

    @classmethod
    def from_json(cls, data: dict[str, Any] | str, registry: Registry | None = None) -> Graph:
        from nodegraph.project import from_json

        return from_json(data, registry)

    @property
    def project_dir(self) -> Path:
        """The folder relative paths in params resolve against."""
        if self.path:
            return Path(self.path).resolve().parent
        return Path(self.base_dir) if self.base_dir else Path.cwd()

    # --- checks --------------------------------------------------------------------------
    def _require(self, node: Any) -> str:
        return self.store.require(node.node if isinstance(node, PortRef) else node)

    def _changed(self, kind: str, node_id: str | None) -> None:
        """The store's on_change: a new revision, the listeners told, a removed node forgotten."""
        if kind == "remove":
            self.last_fingerprints.pop(node_id, None)
        self.revision += 1
        change = GraphChange(kind, node_id, self.revision)
        for listener in list(self._listeners):
            listener(change)


def _default_registry() -> Registry:
    return registry()
