"""PointSet node: handle points and their targets, in pixels of the image they edit."""

from __future__ import annotations

from nodegraph.node import Node, Output, Param

from .types import POINT_PAIRS_EDITOR, POINTS, PointPairs

# docs/PROJECTS.md, "Limits": a drag holds features around every handle at every step; the paper's
# largest case moves 68 landmarks.
MAX_POINT_PAIRS = 256


class PointSetNode(Node):
    type_name = "PointSet"
    category = "Edit"
    doc = "Handles (red) and targets (blue) of a drag, (x, y) in image pixels."
    outputs = [Output("points", POINTS)]
    params = [Param("points", list, [], doc='[{"handle": [x, y], "target": [x, y]}, ...]', editor=POINT_PAIRS_EDITOR)]

    @classmethod
    def validate(cls, params: dict) -> None:
        if len(params["points"]) > MAX_POINT_PAIRS:
            raise ValueError(
                f"points holds {len(params['points']):,} pairs; the limit is {MAX_POINT_PAIRS}"
            )
        PointPairs.from_param(params["points"])

    def compute(self, ctx):
        return {"points": PointPairs.from_param(ctx.params["points"])}
