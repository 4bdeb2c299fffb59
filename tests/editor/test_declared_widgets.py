"""The image panel's special widgets follow what node types declare (nodegraph.views), so a
package with its own port types and params gets point editing and previews without the
editor knowing its names. Plain queries: no display."""

from __future__ import annotations

from nodegraph import Graph, Input, Node, Output, Param
from nodegraph.editor import queries
from nodegraph.registry import Registry
from nodegraph.views import BrushEditor, PairsEditor, PortView, register_port_view

register_port_view("ARROWS", PortView("pairs", (1, 2, 3), pairs=lambda v: (v["tails"], v["heads"])))
register_port_view("PICTURE", PortView("image"))


class Arrows(Node):
    type_name = "WArrows"
    outputs = [Output("arrows", "ARROWS")]
    params = [Param("arrows", list, [], editor=PairsEditor(first="tail", second="head"))]


class Stencil(Node):
    type_name = "WStencil"
    params = [Param("dabs", list, [], editor=BrushEditor("path", "size", "how", "on", "off"))]


class Warp(Node):
    type_name = "WWarp"
    inputs = [Input("arrows", "ARROWS")]
    outputs = [Output("picture", "PICTURE")]


def graph() -> Graph:
    reg = Registry(load_entry_points=False)
    for cls in (Arrows, Stencil, Warp):
        reg.register(cls)
    g = Graph(registry=reg)
    g.add("WArrows", id="arrows", arrows=[{"tail": [1, 2], "head": [3, 4]}])
    g.add("WWarp", id="warp")
    g.add("WStencil", id="stencil")
    g.connect("arrows", "arrows", "warp", "arrows")
    return g


def test_a_param_declaring_a_pairs_editor_is_edited_as_point_pairs():
    g = graph()
    assert queries.editing_mode(g, "arrows") == "pairs"
    assert queries.editing_mode(g, "stencil") == "brush"
    assert queries.editing_mode(g, "warp") == "view"


def test_a_consumer_shows_the_pairs_of_what_feeds_its_pairs_input():
    overlay = queries.overlay_for(graph(), "warp", [(2.0, 3.0)])
    assert (overlay.handles, overlay.targets, overlay.tracked) == ([(1, 2)], [(3, 4)], [(2.0, 3.0)])


def test_an_output_whose_port_type_plays_image_is_the_nodes_image():
    g = graph()
    assert queries.image_source(g, "warp") == queries.Source("warp", "picture")
    assert queries.image_nodes(g) == ["warp"]


def test_brush_strokes_use_the_params_own_keys():
    stroke = Stencil.param("dabs").editor.stroke([[1.0, 2.0]], 3.0, erasing=True)
    assert stroke == {"path": [[1.0, 2.0]], "size": 3.0, "how": "off"}
