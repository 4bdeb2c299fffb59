"""The graph's data and the only code that changes it: nodes (type, params, position) and the
links between their ports, on a networkx.DiGraph.

Every change is checked (GraphError names the node, port or link and the fix) and announced to
`on_change`. Graph (undo, lock, the Python API), the undo commands and the project loader all
change a graph through these methods; none of them touches the DiGraph."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from nodegraph.errors import GraphError
from nodegraph.node import Node, types_compatible

NODE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class Link:
    src: str
    output: str
    dst: str
    input: str

    def __str__(self) -> str:
        return f"{self.src}.{self.output} -> {self.dst}.{self.input}"


@dataclass(frozen=True)
class NodeState:
    id: str
    cls: type[Node]
    params: dict[str, Any]
    pos: tuple[float, float]


class GraphStore:
    """Nodes and links. `on_change(kind, node_id)` follows each change; kind is add, remove,
    connect, disconnect, set or move."""

    def __init__(self, on_change: Callable[[str, str | None], None] | None = None) -> None:
        self._dag = nx.DiGraph()
        self._on_change = on_change or (lambda kind, node_id: None)

    # --- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._dag.number_of_nodes()

    def __contains__(self, node_id: object) -> bool:
        return isinstance(node_id, str) and self._dag.has_node(str(node_id))

    def node_ids(self) -> list[str]:
        return list(self._dag.nodes)

    def linked_pairs(self) -> int:
        """How many (source node, destination node) pairs have at least one link."""
        return self._dag.number_of_edges()

    def require(self, node_id: Any) -> str:
        """`node_id` as a str; GraphError listing the nodes when there is no such node."""
        node_id = str(node_id)
        if not self._dag.has_node(node_id):
            known = ", ".join(self._dag.nodes) or "the graph is empty"
            raise GraphError(f"no node {node_id!r} in the graph; nodes: {known}")
        return node_id

    def node_class(self, node_id: str) -> type[Node]:
        return self._dag.nodes[self.require(node_id)]["cls"]

    def params(self, node_id: str) -> dict[str, Any]:
        return dict(self._dag.nodes[self.require(node_id)]["params"])

    def pos(self, node_id: str) -> tuple[float, float]:
        return self._dag.nodes[self.require(node_id)]["pos"]

    def state(self, node_id: str) -> NodeState:
        data = self._dag.nodes[self.require(node_id)]
        return NodeState(str(node_id), data["cls"], dict(data["params"]), data["pos"])

    def links(self) -> list[Link]:
        return [
            Link(src, out, dst, inp)
            for src, dst, data in self._dag.edges(data=True)
            for inp, out in data["links"].items()
        ]

    def links_into(self, node_id: str) -> dict[str, Link]:
        """Links feeding `node_id`, by input name."""
        node_id = self.require(node_id)
        return {
            inp: Link(src, out, node_id, inp)
            for src, _, data in self._dag.in_edges(node_id, data=True)
            for inp, out in data["links"].items()
        }

    def links_from(self, node_id: str) -> list[Link]:
        node_id = self.require(node_id)
        return [
            Link(node_id, out, dst, inp)
            for _, dst, data in self._dag.out_edges(node_id, data=True)
            for inp, out in data["links"].items()
        ]

    def links_touching(self, node_id: str) -> list[Link]:
        return list(self.links_into(node_id).values()) + self.links_from(node_id)

    # --- checks ----------------------------------------------------------------------------
    def check_new_id(self, node_id: Any) -> str:
        """`node_id` if it is a valid id no node has; GraphError saying the fix otherwise."""
        if not isinstance(node_id, str) or not NODE_ID.match(node_id):
            raise GraphError(
                f"node id {node_id!r} is not valid; use letters, digits, _ and -, starting with a letter"
            )
        if self._dag.has_node(node_id):
            raise GraphError(f"node id {node_id!r} is taken; pick another id or leave it out")
        return node_id

    def free_id(self, cls: type[Node]) -> str:
        """A new id from the type name in lower case: 'latent', then 'latent2', ..."""
        base = re.sub(r"[^A-Za-z0-9_]", "_", cls.type_name).lower() or "node"
        base = base if NODE_ID.match(base) else f"n_{base}"
        node_id, n = base, 1
        while self._dag.has_node(node_id):
            n += 1
            node_id = f"{base}{n}"
        return node_id

    def check_link(self, src: str, output: str, dst: str, input: str, replace: bool = False) -> Link:
        """The Link src.output -> dst.input if it may be made: both ports exist, their types
        match, the input is free (or `replace`), and it makes no cycle."""
        src, dst = self.require(src), self.require(dst)
        src_cls, dst_cls = self.node_class(src), self.node_class(dst)
        out_decl, in_decl = src_cls.output(output), dst_cls.input(input)
        what = f"cannot link {src}.{output} -> {dst}.{input}"
        if out_decl is None:
            raise GraphError(
                f"{what}: node {src!r} ({src_cls.type_name}) has no output {output!r}; its outputs: {port_names(src_cls.outputs)}"
            )
        if in_decl is None:
            raise GraphError(
                f"{what}: node {dst!r} ({dst_cls.type_name}) has no input {input!r}; its inputs: {port_names(dst_cls.inputs)}"
            )
        if not types_compatible(out_decl.type, in_decl.type):
            raise GraphError(
                f"{what}: {src}.{output} gives {out_decl.type} but {dst}.{input} takes {in_decl.type}; "
                f"link an output of type {in_decl.type}"
            )
        existing = self.links_into(dst).get(input)
        if existing is not None and not replace:
            raise GraphError(
                f"{what}: input {dst}.{input} is already linked from {existing.src}.{existing.output}; "
                f"disconnect it first (g.disconnect({dst!r}, {input!r})) or pass replace=True"
            )
        if src == dst or nx.has_path(self._dag, dst, src):
            path = " -> ".join(nx.shortest_path(self._dag, dst, src)) if src != dst else src
            raise GraphError(
                f"{what}: it would make a cycle ({path} -> {dst}); a node cannot feed itself"
            )
        return Link(src, output, dst, input)

    # --- changes (checked; no undo: Graph records them as commands) -------------------------
    def insert_node(
        self, node_id: str, cls: type[Node], params: dict[str, Any], pos: tuple[float, float]
    ) -> None:
        """Adds a node; `params` are checked against `cls` (merged over its defaults)."""
        node_id = self.check_new_id(node_id)
        checked = cls.check_params(node_id, params)
        self._dag.add_node(node_id, cls=cls, params=checked, pos=as_pos(pos, node_id))
        self._on_change("add", node_id)

    def delete_node(self, node_id: str) -> None:
        """Removes a node that no link touches (unlink them first)."""
        node_id = self.require(node_id)
        touching = self.links_touching(node_id)
        if touching:
            raise GraphError(
                f"cannot delete node {node_id!r}: links {', '.join(map(str, touching))} touch it; "
                "unlink them first (Graph.remove does both)"
            )
        self._dag.remove_node(node_id)
        self._on_change("remove", node_id)

    def link(self, link: Link) -> None:
        """Makes a link that check_link allows (the input must be free)."""
        link = self.check_link(link.src, link.output, link.dst, link.input)
        if not self._dag.has_edge(link.src, link.dst):
            self._dag.add_edge(link.src, link.dst, links={})
        self._dag.edges[link.src, link.dst]["links"][link.input] = link.output
        self._on_change("connect", link.dst)

    def unlink(self, link: Link) -> None:
        """Removes an existing link."""
        if self.links_into(link.dst).get(link.input) != link:
            raise GraphError(f"cannot unlink {link}: there is no such link")
        ports = self._dag.edges[link.src, link.dst]["links"]
        del ports[link.input]
        if not ports:
            self._dag.remove_edge(link.src, link.dst)
        self._on_change("disconnect", link.dst)

    def write_params(self, node_id: str, params: dict[str, Any]) -> None:
        """Sets some params of a node, checked against its type (with the others as they are)."""
        node_id = self.require(node_id)
        data = self._dag.nodes[node_id]
        data["params"] = data["cls"].check_params(node_id, params, base=data["params"])
        self._on_change("set", node_id)

    def write_pos(self, node_id: str, pos: tuple[float, float]) -> None:
        node_id = self.require(node_id)
        self._dag.nodes[node_id]["pos"] = as_pos(pos, node_id)
        self._on_change("move", node_id)


def port_names(ports: list) -> str:
    return ", ".join(p.name for p in ports) or "none"


def as_pos(pos: Any, node_id: str) -> tuple[float, float]:
    """(x, y) as floats; GraphError when `pos` is not two numbers."""
    try:
        x, y = pos
        return (float(x), float(y))
    except (TypeError, ValueError):
        raise GraphError(f"node {node_id!r}: pos must be two numbers (x, y), got {pos!r}") from None
