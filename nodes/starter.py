"""The graph a newcomer starts from in the editor: Generator (the bundled model) -> Latent ->
DragOptimizer with a PointSet -> Export, linked; only the points are left to click."""

from __future__ import annotations

from nodegraph.views import register_starter

COLUMN = 200.0  # grid units between columns


def drag_start(g) -> None:
    """Adds the DragGAN start graph to the empty Graph `g`."""
    gen = g.add("Generator", id="generator", pos=(20, 20))
    latent = g.add("Latent", id="latent", pos=(20 + COLUMN, 20))
    points = g.add("PointSet", id="points", pos=(20 + COLUMN, 150))
    drag = g.add("DragOptimizer", id="drag", pos=(20 + 2 * COLUMN, 20))
    export = g.add("Export", id="export", pos=(20 + 3 * COLUMN, 20), path="drag.png")
    g.connect(gen, "generator", latent, "generator")
    g.connect(gen, "generator", drag, "generator")
    g.connect(latent, "latent", drag, "latent")
    g.connect(points, "points", drag, "points")
    g.connect(drag, "image", export, "image")


register_starter("DragGAN", drag_start)
