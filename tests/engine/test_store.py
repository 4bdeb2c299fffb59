"""The graph store: the one owner of nodes and links, whose every change is checked, whether it
comes from Graph, an undo command or the project loader."""

from __future__ import annotations

import pytest

from nodegraph.errors import GraphError
from nodegraph.store import GraphStore, Link
from tests.engine.engine_nodes import Add, Const, Sink


@pytest.fixture
def store() -> GraphStore:
    store = GraphStore()
    store.insert_node("c", Const, {"value": 1.0}, (0, 0))
    store.insert_node("a", Add, {}, (0, 0))
    store.insert_node("s", Sink, {}, (0, 0))
    store.link(Link("c", "out", "a", "a"))
    return store


def test_changes_are_announced_in_order():
    seen = []
    store = GraphStore(on_change=lambda kind, node: seen.append((kind, node)))
    store.insert_node("c", Const, {}, (0, 0))
    store.insert_node("s", Sink, {}, (0, 0))
    store.link(Link("c", "out", "s", "x"))
    store.write_params("c", {"value": 2.0})
    store.write_pos("c", (5, 6))
    store.unlink(Link("c", "out", "s", "x"))
    store.delete_node("s")
    assert seen == [("add", "c"), ("add", "s"), ("connect", "s"), ("set", "c"), ("move", "c"),
                    ("disconnect", "s"), ("remove", "s")]  # fmt: skip


@pytest.mark.parametrize("node_id", ["c", "1st", "a b", "", None])
def test_a_taken_or_invalid_id_is_refused(store, node_id):
    with pytest.raises(GraphError, match="node id"):
        store.insert_node(node_id, Const, {}, (0, 0))


def test_params_are_checked_on_insert_and_write(store):
    with pytest.raises(GraphError, match="param 'value'"):
        store.insert_node("c2", Const, {"value": "high"}, (0, 0))
    with pytest.raises(GraphError, match="has no param 'volume'"):
        store.write_params("c", {"volume": 1.0})
    assert store.params("c")["value"] == 1.0


def test_a_link_into_a_linked_input_or_making_a_cycle_is_refused(store):
    store.insert_node("c2", Const, {}, (0, 0))
    with pytest.raises(GraphError, match="already linked from c.out"):
        store.link(Link("c2", "out", "a", "a"))
    store.link(Link("a", "out", "s", "x"))
    with pytest.raises(GraphError, match="would make a cycle"):
        store.link(Link("s", "out", "a", "b"))


def test_only_an_existing_link_can_be_unlinked(store):
    with pytest.raises(GraphError, match="no such link"):
        store.unlink(Link("c", "out", "s", "x"))


def test_a_node_with_links_cannot_be_deleted_alone(store):
    with pytest.raises(GraphError, match="unlink them first"):
        store.delete_node("c")
    assert "c" in store and store.links_touching("c") == [Link("c", "out", "a", "a")]
