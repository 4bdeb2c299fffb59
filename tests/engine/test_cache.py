"""Lazy cached evaluation: what runs, what comes from the cache, and why."""

from __future__ import annotations

import os

import torch

from nodegraph import Graph
from nodegraph.cache import Cache, sizeof
from tests.engine.engine_nodes import CALLS


def test_first_run_computes_every_needed_node(chain):
    report = chain.evaluate(device="cpu")
    assert sorted(report.computed) == ["a", "c", "c2", "s", "s2"]
    assert report.outputs == {"s": {"out": 11.0}, "s2": {"out": 5.0}}
    assert report.nodes["c"].reason == "first run"


def test_unchanged_graph_computes_nothing(chain):
    chain.evaluate(device="cpu")
    report = chain.evaluate(device="cpu")
    assert report.computed == [] and sorted(report.cached) == ["s", "s2"]
    assert report.outputs["s"] == {"out": 11.0}


def test_param_change_recomputes_the_node_and_its_dependents_only(chain):
    chain.evaluate(device="cpu")
    chain.set("c", value=2.0)
    report = chain.evaluate(device="cpu")
    assert report.computed == ["c", "a", "s"]
    assert report.cached == ["s2"]
    assert report.nodes["c"].reason == "param value changed 1.0 -> 2.0"
    assert report.nodes["a"].reason == "input a changed (from node c)"


def test_same_value_from_upstream_still_pulls_only_changed_branch(chain):
    chain.evaluate(device="cpu")
    chain.set("a", offset=20.0)
    report = chain.evaluate(device="cpu")
    assert report.computed == ["a", "s"] and CALLS["c"] == 1


def test_cached_downstream_node_does_not_pull_its_upstream(chain):
    chain.evaluate(device="cpu")
    chain.cache.clear()
    chain.evaluate(device="cpu", outputs=["s"])
    CALLS.clear()
    report = chain.evaluate(device="cpu", outputs=["s"])
    assert report.cached == ["s"] and sum(CALLS.values()) == 0


def test_evaluation_pulls_only_what_the_outputs_need(chain):
    report = chain.evaluate(outputs=["a"], device="cpu")
    assert report.computed == ["c", "a"] and report.outputs == {"a": {"out": 11.0}}


def test_undo_to_an_earlier_value_is_served_from_the_cache(chain):
    chain.evaluate(device="cpu")
    chain.set("c", value=2.0)
    chain.evaluate(device="cpu")
    chain.undo()
    report = chain.evaluate(device="cpu")
    assert report.computed == []
    assert report.nodes["s"].reason == "result of an earlier run (input x changed (from node a))"


def test_default_targets_are_output_nodes(graph):
    c = graph.add("TConst", id="c")
    graph.add("TConst", id="loose")
    s = graph.add("TSink", id="s")
    graph.connect(c, "out", s, "x")
    assert graph.evaluate(device="cpu").targets == ["s"]


def test_default_targets_are_sinks_when_no_output_node(graph):
    c = graph.add("TConst", id="c")
    a = graph.add("TAdd", id="a")
    graph.connect(c, "out", a, "a")
    graph.add("TConst", id="alone")
    assert sorted(graph.evaluate(device="cpu").targets) == ["a", "alone"]


def test_value_returns_one_output_of_one_node(chain):
    assert chain.value("a", device="cpu") == 11.0
    assert chain.value("c", "out", device="cpu") == 1.0


def test_changing_a_tensor_param_by_content_reruns(graph):
    t = graph.add("TTensorSum", id="t", mask=torch.ones(4))
    graph.evaluate(device="cpu")
    graph.set(t, mask=torch.ones(4))
    assert graph.evaluate(device="cpu").computed == []
    graph.set(t, mask=torch.zeros(4))
    report = graph.evaluate(device="cpu")
    assert report.computed == ["t"] and report.outputs["t"]["out"] == 0.0
    assert report.nodes["t"].reason.startswith("param mask changed tensor(float32, [4]")


def test_impure_node_reruns_when_its_file_changes(graph, tmp_path):
    graph.base_dir = str(tmp_path)
    (tmp_path / "input.txt").write_text("one")
    graph.add("TReadFile", id="r")
    graph.evaluate(device="cpu")
    assert graph.evaluate(device="cpu").computed == []
    (tmp_path / "input.txt").write_text("three")
    os.utime(tmp_path / "input.txt", ns=(1, 10**18))
    report = graph.evaluate(device="cpu")
    assert (
        report.computed == ["r"] and report.nodes["r"].reason == "not pure: outside state changed"
    )
    assert report.outputs["r"]["text"] == "three"


def test_changing_device_recomputes(chain):
    chain.evaluate(device="cpu")
    report = chain.evaluate(device="meta")
    assert "c" in report.computed and report.nodes["c"].reason == "device changed cpu -> meta"


def test_fingerprint_prints_and_describes_its_parts(chain):
    report = chain.evaluate(device="cpu")
    fp = report.nodes["a"].fingerprint
    assert str(fp).startswith("fp:") and len(fp.digest) == 64
    assert "param.offset = 10.0" in fp.describe() and "input.a = " in fp.describe()


def test_report_prints_a_table(chain):
    text = str(chain.evaluate(device="cpu"))
    assert "status" in text and "first run" in text and "5 computed, 0 cached" in text


def test_cache_evicts_least_recently_used_beyond_budget():
    cache = Cache(budget_bytes=2 * 4096 + 512)
    for key in "abc":
        cache.put(key, {"t": torch.zeros(1024)})
    assert "a" not in cache and "b" in cache and "c" in cache


def test_cache_keeps_a_recently_read_entry():
    cache = Cache(budget_bytes=2 * 4096 + 512)
    cache.put("a", {"t": torch.zeros(1024)})
    cache.put("b", {"t": torch.zeros(1024)})
    cache.get("a")
    cache.put("c", {"t": torch.zeros(1024)})
    assert "a" in cache and "b" not in cache


def test_sizeof_counts_tensors_in_nested_containers():
    value = {"x": [torch.zeros(10), (torch.zeros(5, dtype=torch.float64),)]}
    assert sizeof(value) >= 10 * 4 + 5 * 8


def test_evicted_result_is_recomputed_and_says_so(graph):
    graph.cache = Cache(budget_bytes=0)
    graph.add("TConst", id="c1", value=1.0)
    graph.add("TConst", id="c2", value=2.0)
    graph.evaluate(device="cpu")
    report = graph.evaluate(device="cpu")
    assert "c1" in report.computed
    assert report.nodes["c1"].reason == "not in the cache (evicted or cleared)"


def test_nodes_with_equal_fingerprints_share_one_result(graph):
    graph.add("TConst", id="c1", value=3.0)
    graph.add("TConst", id="c2", value=3.0)
    report = graph.evaluate(device="cpu")
    assert report.computed == ["c1"] and report.cached == ["c2"]


def test_graphs_can_share_a_cache(reg, chain):
    chain.evaluate(device="cpu")
    copy = Graph.from_json(chain.to_json(), registry=reg)
    copy.cache = chain.cache
    assert copy.evaluate(device="cpu").computed == []
