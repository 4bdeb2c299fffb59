"""The editor's editing commands: add, link, unlink, set, move, delete, duplicate, undo, redo
and select, each one Graph call (one undo step) whose refusal shows in the status line.

A mixin of the Editor: it uses the editor's graph, canvas, panes and status line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nodegraph import GraphError
from nodegraph.editor import queries


class EditCommands:
    """What the user's gestures become; the Editor (app.py) mixes it in."""

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
        def add() -> Any:
            where = pos if pos is not None else self.canvas.free_position(type_name)
            return self.graph.add(type_name, pos=where, **params)

        node = self._edit(f"added {type_name}", add)
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
        """Sets params (one undo step); a drag stopped earlier that this edit concerns (its own
        params, its points) forgets its stop in the same step, so it runs its whole budget."""
        g = self.graph
        names = ", ".join(params)
        stops = queries.stops_cleared_by(g, node_id, params) if node_id in g else []

        def edit() -> None:
            if not stops:
                g.set(node_id, merge=merge, **params)
                return
            with g.transaction(f"set {node_id}.{names}"):
                g.set(node_id, **params)
                for stopped in stops:
                    g.set(stopped, **{queries.STOPPED_AT: None})

        return bool(self._edit(f"set {node_id}.{names}", edit))

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
        self._show_touched()

    def redo(self) -> None:
        label = self.graph.redo_label
        if self._edit(f"redid {label}", self.graph.redo) is not None and label is None:
            self.status("nothing to redo")
        self._show_touched()

    def _show_touched(self) -> None:
        """After undo/redo the panes show a node that exists: the shown one, else the node
        the step touched (a Delete undone shows the restored node)."""
        self.canvas.sync()
        if self.selected in self.graph:
            self.select(self.selected)
        else:
            self.select(self._touched if self._touched in self.graph else None)

    def select(self, node_id: str | None) -> None:
        self.selected = node_id if node_id is None or node_id in self.graph else None
        self.params.show(self.selected)
        self.panel.show(self.selected)
        self.canvas.show_selected(self.selected)
