"""Events for listeners and cancelling a run, between nodes and inside a long node."""

from __future__ import annotations

import threading

from nodegraph import CancelToken
from nodegraph import events as ev
from tests.engine.engine_nodes import CALLS


def slow_chain(graph, steps=10):
    c = graph.add("TConst", id="c")
    slow = graph.add("TSlow", id="slow", steps=steps)
    s = graph.add("TSink", id="s")
    graph.connect(c, "out", slow, "x")
    graph.connect(slow, "out", s, "x")
    return graph


def test_events_arrive_in_run_order(graph):
    slow_chain(graph, steps=2)
    seen = []
    graph.evaluate(device="cpu", on_event=seen.append)
    kinds = [(type(e).__name__, getattr(e, "node_id", None)) for e in seen]
    assert kinds == [
        ("RunStarted", None),
        ("NodeStarted", "c"), ("NodeFinished", "c"),
        ("NodeStarted", "slow"), ("NodeProgress", "slow"), ("NodeProgress", "slow"),
        ("NodeLog", "slow"), ("NodeFinished", "slow"),
        ("NodeStarted", "s"), ("NodeFinished", "s"),
        ("RunFinished", None),
    ]  # fmt: skip


def test_progress_events_carry_step_total_and_message(graph):
    slow_chain(graph, steps=3)
    seen = []
    graph.evaluate(device="cpu", on_event=seen.append)
    progress = [e for e in seen if isinstance(e, ev.NodeProgress)]
    assert [(e.step, e.total, e.message) for e in progress][-1] == (3, 3, "step 3")


def test_cached_nodes_finish_without_starting(graph):
    slow_chain(graph)
    graph.evaluate(device="cpu")
    seen = []
    graph.evaluate(device="cpu", on_event=seen.append)
    finished = [e for e in seen if isinstance(e, ev.NodeFinished)]
    assert [(e.node_id, e.cached) for e in finished] == [("s", True)]
    assert not any(isinstance(e, ev.NodeStarted) for e in seen)


def test_cancel_inside_a_long_node_stops_it_and_skips_the_rest(graph):
    slow_chain(graph, steps=1000)
    token = CancelToken()
    seen = []

    def listener(event):
        seen.append(event)
        if isinstance(event, ev.NodeProgress) and event.step == 3:
            token.cancel()

    report = graph.evaluate(device="cpu", on_event=listener, cancel=token)
    assert report.cancelled
    assert report.nodes["slow"].status == "cancelled" and report.nodes["s"].status == "skipped"
    assert sum(isinstance(e, ev.NodeProgress) for e in seen) == 3
    assert [e.node_id for e in seen if isinstance(e, ev.RunCancelled)] == ["slow"]


def test_cancelled_node_caches_nothing(graph):
    slow_chain(graph, steps=5)
    token = CancelToken()
    graph.evaluate(
        device="cpu",
        cancel=token,
        on_event=lambda e: isinstance(e, ev.NodeProgress) and token.cancel(),
    )
    report = graph.evaluate(device="cpu")
    assert report.computed == ["slow", "s"] and report.cached == ["c"]


def test_cancel_before_the_run_computes_nothing(graph):
    slow_chain(graph)
    token = CancelToken()
    token.cancel()
    report = graph.evaluate(device="cpu", cancel=token)
    assert report.cancelled and report.computed == [] and sum(CALLS.values()) == 0


def test_cancel_from_another_thread_stops_the_run(graph):
    slow_chain(graph, steps=10**7)
    token = CancelToken()
    started = threading.Event()
    graph_done = []

    def listener(event):
        if isinstance(event, ev.NodeProgress):
            started.set()

    worker = threading.Thread(
        target=lambda: graph_done.append(
            graph.evaluate(device="cpu", on_event=listener, cancel=token)
        )
    )
    worker.start()
    assert started.wait(10)
    token.cancel()
    worker.join(10)
    assert graph_done and graph_done[0].cancelled


def test_ctx_gives_nodes_the_cancel_token_to_pass_on(graph):
    slow_chain(graph, steps=2)
    token = CancelToken()
    graph.evaluate(device="cpu", cancel=token)
    assert not token.is_set()
