"""The graph a newcomer starts from in the editor: Generator (the bundled model) -> Latent ->
DragOptimizer with a PointSet -> Export, linked; only the points are left to click."""

from __future__ import annotations

from nodegraph.views import register_starter

# Where the editor's F places these nodes as drawn after a run (column gap 40), 20 px in from the
# canvas's corner: every link runs rightwards and none behind a node (the generator's link to the
# drag passes above the latent; tests/editor/test_examples_layout.py checks the drawn nodes).
PLACES = {
    "generator": (20, 20), "latent": (195, 75), "points": (193, 219), "drag": (368, 20),
    "export": (566, 20),
}  # fmt: skip


def drag_start(g) -> None:
    """Adds the DragGAN start graph to the empty Graph `g`."""
    gen = g.add("Generator", id="generator", pos=PLACES["generator"])
    latent = g.add("Latent", id="latent", pos=PLACES["latent"])
    points = g.add("PointSet", id="points", pos=PLACES["points"])
    drag = g.add("DragOptimizer", id="drag", pos=PLACES["drag"])
    export = g.add("Export", id="export", pos=PLACES["export"], path="drag.png")
    g.connect(gen, "generator", latent, "generator")
    g.connect(gen, "generator", drag, "generator")
    g.connect(latent, "latent", drag, "latent")
    g.connect(points, "points", drag, "points")
    g.connect(drag, "image", export, "image")


register_starter("DragGAN", drag_start)
