"""`nodegraph bench animation` films a short drag and reports both timings and their ratio."""

from __future__ import annotations

import json

from nodes.animation_bench import run_bench


def test_the_animation_bench_reports_the_drag_and_each_formats_export(capsys):
    assert run_bench(["--steps", "10", "--every", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 3 and report["drag_seconds"] > 0  # steps 0, 5 and 10
    for fmt in ("gif", "webp"):
        figures = report["formats"][fmt]
        assert figures["bytes"] > 0
        assert abs(figures["ratio_to_drag"] - figures["seconds"] / report["drag_seconds"]) < 1e-9
