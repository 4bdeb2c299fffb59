"""Undo/redo: every graph edit is a command on one stack that the editor and scripts share.

Commands change the graph's store (nodegraph/store.py, checked); `History.transaction` groups
several into one step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nodegraph.store import GraphStore, Link


class Command:
    label: str = "edit"

    def do(self, store: GraphStore) -> None:
        raise NotImplementedError

    def undo(self, store: GraphStore) -> None:
        raise NotImplementedError

    def merge(self, later: Command) -> bool:
        """Absorbs `later` into self (slider drags); returns False when it cannot."""
        return False


@dataclass
class AddNode(Command):
    node_id: str
    cls: type
    params: dict[str, Any]
    pos: tuple[float, float]
    label: str = "add node"

    def do(self, store: GraphStore) -> None:
        store.insert_node(self.node_id, self.cls, self.params, self.pos)

    def undo(self, store: GraphStore) -> None:
        store.delete_node(self.node_id)


@dataclass
class RemoveNode(Command):
    """Removes a node and its links; undo restores both."""

    node_id: str
    label: str = "remove node"
    _saved: tuple | None = None

    def do(self, store: GraphStore) -> None:
        state = store.state(self.node_id)
        links = store.links_touching(self.node_id)
        self._saved = (state, links)
        for link in links:
            store.unlink(link)
        store.delete_node(self.node_id)

    def undo(self, store: GraphStore) -> None:
        state, links = self._saved
        store.insert_node(state.id, state.cls, state.params, state.pos)
        for link in links:
            store.link(link)


@dataclass
class Connect(Command):
    link: Link
    label: str = "connect"

    def do(self, store: GraphStore) -> None:
        store.link(self.link)

    def undo(self, store: GraphStore) -> None:
        store.unlink(self.link)


@dataclass
class Disconnect(Command):
    link: Link
    label: str = "disconnect"

    def do(self, store: GraphStore) -> None:
        store.unlink(self.link)

    def undo(self, store: GraphStore) -> None:
        store.link(self.link)


@dataclass
class SetParams(Command):
    node_id: str
    old: dict[str, Any]
    new: dict[str, Any]
    mergeable: bool = False
    label: str = "set param"

    def do(self, store: GraphStore) -> None:
        store.write_params(self.node_id, self.new)

    def undo(self, store: GraphStore) -> None:
        store.write_params(self.node_id, self.old)

    def merge(self, later: Command) -> bool:
        if not (self.mergeable and isinstance(later, SetParams) and later.mergeable):
            return False
        if later.node_id != self.node_id or later.new.keys() != self.new.keys():
            return False
        self.new = later.new
        return True


@dataclass
class MoveNode(Command):
    node_id: str
    old: tuple[float, float]
    new: tuple[float, float]
    mergeable: bool = False
    label: str = "move node"

    def do(self, store: GraphStore) -> None:
        store.write_pos(self.node_id, self.new)

    def undo(self, store: GraphStore) -> None:
        store.write_pos(self.node_id, self.old)

    def merge(self, later: Command) -> bool:
        if not (self.mergeable and isinstance(later, MoveNode) and later.mergeable):
            return False
        if later.node_id != self.node_id:
            return False
        self.new = later.new
        return True


@dataclass
class Group(Command):
    """Several commands as one undo step (a transaction)."""

    label: str
    commands: list[Command] = field(default_factory=list)

    def do(self, store: GraphStore) -> None:
        for command in self.commands:
            command.do(store)

    def undo(self, store: GraphStore) -> None:
        for command in reversed(self.commands):
            command.undo(store)


class History:
    """The undo and redo stacks of one graph."""

    def __init__(self, store: GraphStore, limit: int = 1000) -> None:
        self._store = store
        self.limit = limit
        self.undo_stack: list[Command] = []
        self.redo_stack: list[Command] = []
        self._open: list[Group] = []
        self._clean: Command | None = None

    def run(self, command: Command, merge: bool = False) -> None:
        """Does `command` and records it; a failing command records nothing."""
        command.do(self._store)
        if self._open:
            self._open[-1].commands.append(command)
            return
        top = self.undo_stack[-1] if self.undo_stack else None
        if merge and top is not None and top is not self._clean and top.merge(command):
            self.redo_stack.clear()
            return
        self._push(command)

    def _push(self, command: Command) -> None:
        self.undo_stack.append(command)
        del self.undo_stack[: -self.limit]
        self.redo_stack.clear()

    @contextmanager
    def transaction(self, label: str) -> Iterator[None]:
        """Groups the commands of the block into one undo step; an exception rolls them back."""
        group = Group(label)
        self._open.append(group)
        try:
            yield
        except BaseException:
            self._open.pop()
            group.undo(self._store)
            raise
        self._open.pop()
        if not group.commands:
            return
        if self._open:
            self._open[-1].commands.append(group)
        else:
            self._push(group)

    def undo(self) -> bool:
        if self._open:
            raise RuntimeError("cannot undo inside a transaction")
        if not self.undo_stack:
            return False
        command = self.undo_stack.pop()
        command.undo(self._store)
        self.redo_stack.append(command)
        return True

    def redo(self) -> bool:
        if self._open:
            raise RuntimeError("cannot redo inside a transaction")
        if not self.redo_stack:
            return False
        command = self.redo_stack.pop()
        command.do(self._store)
        self.undo_stack.append(command)
        return True

    def mark_clean(self) -> None:
        self._clean = self.undo_stack[-1] if self.undo_stack else None

    @property
    def dirty(self) -> bool:
        return (self.undo_stack[-1] if self.undo_stack else None) is not self._clean

    def clear(self) -> None:
        self.undo_stack.clear()
        self.redo_stack.clear()
        self._clean = None
