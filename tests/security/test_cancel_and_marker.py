"""Long node work stops on cancel (Mask painting included), and Export finds its own marker in a
PNG whatever the size of the project embedded in it."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from nodegraph import Graph
from nodegraph.errors import Cancelled
from nodegraph.events import CancelToken
from nodes.export import written_by_us
from nodes.mask import MAX_STROKE_POINTS, paint_strokes
from tests.security.hostile import big_embedded_project_rerun


def heavy_strokes() -> list:
    """The most work the limits allow on a 4096 px mask: every segment spans the whole mask."""
    points = [[0, 0], [4095, 4095]] * (MAX_STROKE_POINTS // 2)
    return [{"points": points, "radius": 16384, "mode": "add"}]


def test_mask_painting_checks_cancel_between_chunks():
    import torch

    calls = []

    def cancel_on_second_check():
        calls.append(1)
        if len(calls) == 2:
            raise Cancelled("mask")

    with pytest.raises(Cancelled):
        paint_strokes(torch.zeros(4096, 4096), heavy_strokes(), cancel_on_second_check)
    assert len(calls) == 2


def test_a_run_painting_a_huge_mask_stops_when_cancelled():
    g = Graph()
    g.add("Mask", id="mask", size=4096, strokes=heavy_strokes())
    cancel = CancelToken()
    threading.Timer(0.5, cancel.set).start()
    report = g.evaluate(device="cpu", cancel=cancel)
    assert report.cancelled and report.nodes["mask"].status == "cancelled"


def test_the_marker_is_found_past_pillows_text_limit(world):
    big_embedded_project_rerun(world)  # Export wrote big.png with a 2 MiB project
    png = world.project / "big.png"
    with pytest.raises(ValueError, match="Decompressed"):  # what hid the marker before
        Image.open(png).load()
    assert written_by_us(png)
