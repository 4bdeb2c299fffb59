"""Graph edits that must be refused, with a GraphError that names what is wrong and the fix."""

from __future__ import annotations

import pytest

from nodegraph import GraphError


def test_unknown_type_is_refused_naming_the_known_types(graph):
    with pytest.raises(GraphError, match=r"unknown node type 'Nope'.*TConst"):
        graph.add("Nope")


def test_unknown_param_is_refused_naming_the_params(graph):
    with pytest.raises(GraphError, match=r"'c' \(TConst\) has no param 'valu'.*value"):
        graph.add("TConst", id="c", valu=3)


def test_out_of_range_param_names_node_param_and_range(graph):
    c = graph.add("TConst", id="c")
    with pytest.raises(GraphError, match=r"node 'c' \(TConst\) param 'value'.*<= 100"):
        graph.set(c, value=101)


def test_int_param_accepts_an_integral_float(graph):
    c = graph.add("TConst", count=3.0)
    assert c.params["count"] == 3 and isinstance(c.params["count"], int)


def test_int_param_refuses_a_fractional_float(graph):
    with pytest.raises(GraphError, match="not an integer"):
        graph.add("TConst", count=2.5)


def test_float_param_refuses_nan(graph):
    with pytest.raises(GraphError, match="not finite"):
        graph.add("TConst", value=float("nan"))


def test_bool_param_refuses_an_int(graph):
    with pytest.raises(GraphError, match="flag"):
        graph.add("TConst", flag=1)


def test_choice_param_lists_the_choices(graph):
    with pytest.raises(GraphError, match="one of 'plain', 'fancy'"):
        graph.add("TConst", mode="odd")


def test_validate_hook_refuses_inconsistent_params(graph):
    r = graph.add("TRange", id="r")
    with pytest.raises(GraphError, match="low must not exceed high"):
        graph.set(r, low=5)
    assert r.params["low"] == 0


def test_link_between_mismatched_types_names_both_ends(graph):
    t = graph.add("TText", id="t")
    a = graph.add("TAdd", id="a")
    with pytest.raises(
        GraphError, match=r"t\.text -> a\.a: t\.text gives TEXT but a\.a takes NUMBER"
    ):
        graph.connect(t, "text", a, "a")


def test_any_input_accepts_every_type(graph):
    t = graph.add("TText")
    x = graph.add("TAny")
    graph.connect(t, "text", x, "x")
    assert len(graph.links) == 1


def test_link_that_would_make_a_cycle_is_refused(graph):
    a = graph.add("TAdd", id="a")
    b = graph.add("TAdd", id="b")
    graph.connect(a, "out", b, "a")
    with pytest.raises(GraphError, match="cycle"):
        graph.connect(b, "out", a, "a")


def test_link_from_a_node_to_itself_is_refused(graph):
    a = graph.add("TAdd", id="a")
    with pytest.raises(GraphError, match="cycle"):
        graph.connect(a, "out", a, "b")


def test_input_takes_one_link(graph):
    c1, c2 = graph.add("TConst", id="c1"), graph.add("TConst", id="c2")
    a = graph.add("TAdd", id="a")
    graph.connect(c1, "out", a, "a")
    with pytest.raises(
        GraphError, match=r"a\.a is already linked from c1\.out; disconnect it first"
    ):
        graph.connect(c2, "out", a, "a")


def test_output_fans_out_to_many_inputs(graph):
    c = graph.add("TConst")
    a = graph.add("TAdd")
    graph.connect(c, "out", a, "a")
    graph.connect(c, "out", a, "b")
    assert {link.input for link in graph.links_into(a).values()} == {"a", "b"}


def test_connect_with_replace_swaps_the_link(graph):
    c1, c2 = graph.add("TConst", id="c1"), graph.add("TConst", id="c2")
    a = graph.add("TAdd", id="a")
    graph.connect(c1, "out", a, "a")
    graph.connect(c2, "out", a, "a", replace=True)
    assert graph.links_into(a)["a"].src == "c2"


def test_unknown_ports_are_refused_naming_the_ports(graph):
    c, a = graph.add("TConst", id="c"), graph.add("TAdd", id="a")
    with pytest.raises(GraphError, match="has no output 'nope'; its outputs: out"):
        graph.connect(c, "nope", a, "a")
    with pytest.raises(GraphError, match="has no input 'nope'; its inputs: a, b"):
        graph.connect(c, "out", a, "nope")


def test_unknown_node_is_refused(graph):
    with pytest.raises(GraphError, match="no node 'ghost'"):
        graph.set("ghost", value=1)


def test_node_ids_are_unique_and_valid(graph):
    graph.add("TConst", id="c")
    with pytest.raises(GraphError, match="taken"):
        graph.add("TConst", id="c")
    with pytest.raises(GraphError, match="not valid"):
        graph.add("TConst", id="has.dot")


def test_default_ids_come_from_the_type_name(graph):
    assert [graph.add("TConst"), graph.add("TConst")] == ["tconst", "tconst2"]


def test_unlinked_required_input_is_refused_at_evaluation(graph):
    graph.add("TSink", id="s")
    with pytest.raises(GraphError, match=r"node 's' \(TSink\) input 'x' \(NUMBER\) is not linked"):
        graph.evaluate(device="cpu")


def test_failed_edit_changes_nothing(graph):
    c = graph.add("TConst", id="c", value=2.0)
    revision = graph.revision
    with pytest.raises(GraphError):
        graph.set(c, value=3.0, count=99)
    assert c.params["value"] == 2.0 and graph.revision == revision
