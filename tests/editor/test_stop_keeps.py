"""The engine side of Stop: CancelToken.finish() makes a drag keep its result so far, cached
under `stopped_at` = the steps it did (so setting it, saving and reloading reproduces it, and its
`steps` budget stays for later runs); cancel() does not."""

from __future__ import annotations

import torch

from nodegraph import CancelToken, Graph, events


def _drag_graph(checkpoint, steps: int) -> Graph:
    g = Graph()
    gen = g.add("Generator", checkpoint=str(checkpoint), device="cpu")
    latent = g.add("Latent", seed=3)
    points = g.add("PointSet", points=[{"handle": [5, 5], "target": [28, 28]}])
    g.add("DragOptimizer", id="drag", steps=steps, preview_every=0)
    g.connect(gen, "generator", latent, "generator")
    for src, port in [(gen, "generator"), (latent, "latent"), (points, "points")]:
        g.connect(src, port, "drag", port)
    return g


def _stop_at(step: int, token: CancelToken, finish: bool):
    seen = []

    def on_event(event):
        seen.append(event)
        if isinstance(event, events.NodeProgress) and event.step == step:
            token.finish() if finish else token.cancel()

    return on_event, seen


def test_finish_keeps_the_drag_so_far_as_what_its_steps_give(tiny_checkpoint, tmp_path):
    g = _drag_graph(tiny_checkpoint, steps=1000)
    token = CancelToken()
    on_event, seen = _stop_at(4, token, finish=True)
    report = g.evaluate(["drag"], device="cpu", on_event=on_event, cancel=token)
    (settled,) = [e for e in seen if isinstance(e, events.NodeSettled)]
    assert settled.params == {"stopped_at": 4} and report.nodes["drag"].settled == settled.params
    kept = report.outputs["drag"]["latent"].ws
    g.set("drag", stopped_at=4)
    assert g.params("drag")["steps"] == 1000
    again = g.evaluate(["drag"], device="cpu")
    assert "drag" in again.cached and again.computed == []  # no forced re-run
    g.save(tmp_path / "p.ngproj.json")
    reloaded = Graph.load(tmp_path / "p.ngproj.json").value("drag", "latent", device="cpu")
    assert torch.allclose(reloaded.ws, kept, atol=1e-6)


def test_cancel_throws_the_drag_away(tiny_checkpoint):
    g = _drag_graph(tiny_checkpoint, steps=1000)
    token = CancelToken()
    on_event, seen = _stop_at(2, token, finish=False)
    report = g.evaluate(["drag"], device="cpu", on_event=on_event, cancel=token)
    assert report.cancelled and "drag" not in report.outputs
    assert not any(isinstance(e, events.NodeSettled) for e in seen)


def test_a_drag_short_of_its_targets_warns_with_the_distance_and_steps(tiny_checkpoint):
    g = _drag_graph(tiny_checkpoint, steps=2)
    report = g.evaluate(["drag"], device="cpu")
    (warning,) = report.nodes["drag"].warnings
    assert "px left after 2 of 2 steps" in warning and report.ok
