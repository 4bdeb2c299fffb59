"""A failing node raises NodeError naming node and cause, and leaves graph and cache usable."""

from __future__ import annotations

import pytest

from nodegraph import NodeError
from nodegraph import events as ev


def failing_graph(graph):
    c = graph.add("TConst", id="c")
    f = graph.add("TFail", id="f")
    s = graph.add("TSink", id="s")
    graph.connect(c, "out", f, "x")
    graph.connect(f, "out", s, "x")
    other = graph.add("TSink", id="other")
    graph.connect(c, "out", other, "x")
    return graph


def test_failure_raises_node_error_naming_node_type_and_cause(graph):
    failing_graph(graph)
    with pytest.raises(NodeError, match=r"node 'f' \(TFail\) failed: ValueError: boom") as info:
        graph.evaluate(device="cpu")
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.node_id == "f" and info.value.report.nodes["f"].status == "failed"


def test_failure_emits_node_failed_then_run_finished(graph):
    failing_graph(graph)
    seen = []
    with pytest.raises(NodeError):
        graph.evaluate(device="cpu", on_event=seen.append)
    names = [type(e).__name__ for e in seen]
    assert names.index("NodeFailed") < names.index("RunFinished") == len(names) - 1
    failed = next(e for e in seen if isinstance(e, ev.NodeFailed))
    assert failed.node_id == "f" and isinstance(failed.error, NodeError)


def test_without_raise_independent_branches_finish_and_dependents_skip(graph):
    failing_graph(graph)
    report = graph.evaluate(device="cpu", raise_on_error=False)
    assert report.failed == ["f"]
    assert (
        report.nodes["s"].status == "skipped"
        and "upstream node f failed" in report.nodes["s"].reason
    )
    assert report.outputs == {"other": {"out": 0.0}}


def test_failed_node_caches_nothing_and_the_graph_recovers(graph):
    failing_graph(graph)
    graph.evaluate(device="cpu", raise_on_error=False)
    graph.set("f", fail=False)
    report = graph.evaluate(device="cpu")
    assert report.computed == ["f", "s"] and report.cached == ["c", "other"]


def test_retry_after_failure_runs_the_failed_node_again(graph):
    failing_graph(graph)
    for _ in range(2):
        with pytest.raises(NodeError):
            graph.evaluate(device="cpu")


def test_wrong_outputs_from_compute_are_a_node_error(graph):
    graph.add("TBadOutputs", id="bad")
    with pytest.raises(NodeError, match=r"'bad'.*declared outputs are \['out'\]"):
        graph.evaluate(device="cpu")


def test_failing_impure_key_is_a_node_error(graph, monkeypatch):
    from tests.engine.engine_nodes import ReadFile

    def broken(self, params):
        raise OSError("disk gone")

    monkeypatch.setattr(ReadFile, "impure_key", broken)
    graph.add("TReadFile", id="r")
    with pytest.raises(NodeError, match="'r'.*disk gone"):
        graph.evaluate(device="cpu")
