"""PointSet node: handle points and their targets, in pixels of the image they edit."""

from __future__ import annotations

from nodegraph.node import Node, Output, Param

from .types import POINTS, PointPairs


class PointSetNode(Node):
    type_name = "PointSet"
    category = "Edit"
    doc = "Handles (red) and targets (blue) of a drag, (x, y) in image pixels."
    outputs = [Output("points", POINTS)]
    params = [Param("points", list, [], doc='[{"handle": [x, y], "target": [x, y]}, ...]')]

    @classmethod
    def validate(cls, params: dict) -> None:
        PointPairs.from_param(params["points"])

    def compute(self, ctx):
        return {"points": PointPairs.from_param(ctx.params["points"])}
