"""Undo/redo: every edit is one step on the graph's command stack, shared by editor and scripts."""

from __future__ import annotations

import pytest

from nodegraph import GraphError


def test_undo_add_removes_the_node_and_redo_brings_it_back(graph):
    c = graph.add("TConst", id="c", value=2.0)
    assert graph.undo() and "c" not in graph
    assert graph.redo() and graph.params(c)["value"] == 2.0


def test_undo_remove_restores_the_node_with_its_links(chain):
    links = sorted(map(str, chain.links))
    chain.remove("a")
    assert "a" not in chain and len(chain.links) == 1
    chain.undo()
    assert sorted(map(str, chain.links)) == links
    assert chain.params("a")["offset"] == 10.0


def test_undo_connect_and_disconnect(graph):
    c, a = graph.add("TConst"), graph.add("TAdd")
    graph.connect(c, "out", a, "a")
    graph.undo()
    assert graph.links == []
    graph.redo()
    graph.disconnect(a, "a")
    assert graph.links == []
    graph.undo()
    assert len(graph.links) == 1


def test_undo_set_restores_the_old_value(graph):
    c = graph.add("TConst", value=1.0)
    graph.set(c, value=2.0)
    graph.set(c, value=3.0)
    graph.undo()
    assert c.params["value"] == 2.0


def test_merged_sets_of_one_param_undo_as_one_step(graph):
    c = graph.add("TConst", value=1.0)
    for v in (2.0, 3.0, 4.0):
        graph.set(c, value=v, merge=True)
    graph.undo()
    assert c.params["value"] == 1.0


def test_merge_does_not_join_sets_of_different_params(graph):
    c = graph.add("TConst", value=1.0)
    graph.set(c, value=2.0, merge=True)
    graph.set(c, count=5, merge=True)
    graph.undo()
    assert (c.params["value"], c.params["count"]) == (2.0, 1)


def test_undo_move(graph):
    c = graph.add("TConst", pos=(1, 2))
    graph.move(c, (10, 20))
    graph.undo()
    assert c.pos == (1.0, 2.0)


def test_transaction_is_one_undo_step(graph):
    with graph.transaction("build"):
        c = graph.add("TConst", id="c")
        s = graph.add("TSink", id="s")
        graph.connect(c, "out", s, "x")
    assert graph.undo_label == "build"
    graph.undo()
    assert len(graph) == 0
    graph.redo()
    assert len(graph) == 2 and len(graph.links) == 1


def test_transaction_rolls_back_when_an_edit_fails(graph):
    with pytest.raises(GraphError), graph.transaction("broken"):
        graph.add("TConst", id="c")
        graph.add("Unknown")
    assert len(graph) == 0 and not graph.can_undo


def test_new_edit_clears_redo(graph):
    graph.add("TConst")
    graph.undo()
    assert graph.can_redo
    graph.add("TSink")
    assert not graph.can_redo


def test_undo_with_nothing_to_undo_returns_false(graph):
    assert graph.undo() is False and graph.redo() is False


def test_dirty_until_saved_and_clean_again_after_undo_to_saved_state(graph, tmp_path):
    assert not graph.dirty
    graph.add("TConst", id="c")
    assert graph.dirty
    graph.save(tmp_path / "p.ngproj.json")
    assert not graph.dirty
    graph.set("c", value=2.0)
    assert graph.dirty
    graph.undo()
    assert not graph.dirty


def test_merge_after_save_still_marks_dirty(graph, tmp_path):
    c = graph.add("TConst")
    graph.set(c, value=2.0, merge=True)
    graph.save(tmp_path / "p.ngproj.json")
    graph.set(c, value=3.0, merge=True)
    assert graph.dirty


def test_subscribers_hear_every_change_with_the_revision(graph):
    changes = []
    unsubscribe = graph.subscribe(changes.append)
    c = graph.add("TConst", id="c")
    graph.set(c, value=1.0)
    graph.undo()
    unsubscribe()
    graph.move(c, (1, 1))
    assert [(ch.kind, ch.node_id) for ch in changes] == [("add", "c"), ("set", "c"), ("set", "c")]
    assert changes[-1].revision == graph.revision - 1
