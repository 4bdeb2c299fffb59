"""Export is cached like any node: an unchanged project evaluated again computes nothing, and
Export writes again only when its file was deleted or changed, or what it embeds changed."""

from __future__ import annotations

import os

import pytest

from nodegraph import Graph, NodeError


@pytest.fixture
def exporting(tiny_checkpoint, tmp_path) -> Graph:
    g = Graph()
    g.base_dir = str(tmp_path)
    gen = g.add("Generator", id="generator", checkpoint=tiny_checkpoint)
    latent = g.add("Latent", id="latent", seed=2)
    render = g.add("Render", id="render")
    export = g.add("Export", id="export", path="out/face.png")
    g.connect(gen, "generator", latent, "generator")
    g.connect(gen, "generator", render, "generator")
    g.connect(latent, "latent", render, "latent")
    g.connect(render, "image", export, "image")
    g.evaluate(device="cpu")
    return g


def written(g: Graph):
    return g.project_dir / "out" / "face.png"


def test_a_second_evaluate_of_an_unchanged_project_computes_nothing(exporting):
    before = written(exporting).stat().st_mtime_ns
    report = exporting.evaluate(device="cpu")
    assert report.computed == [] and report.nodes["export"].status == "cached"
    assert written(exporting).stat().st_mtime_ns == before


def test_a_deleted_export_is_written_again_and_nothing_else_runs(exporting):
    written(exporting).unlink()
    report = exporting.evaluate(device="cpu")
    assert report.computed == ["export"]
    assert "face.png changed or was removed" in report.nodes["export"].reason
    assert written(exporting).exists()


def test_a_changed_export_is_written_again(exporting):
    os.utime(written(exporting), ns=(1, 10**18))  # e.g. re-saved by another program
    assert exporting.evaluate(device="cpu").computed == ["export"]
    assert written(exporting).stat().st_mtime_ns != 10**18


def test_a_foreign_file_in_its_place_is_not_overwritten(exporting):
    written(exporting).write_bytes(b"someone else's pixels")
    with pytest.raises(NodeError, match="not written by nodegraph"):
        exporting.evaluate(device="cpu")
    assert written(exporting).read_bytes() == b"someone else's pixels"


def test_a_png_is_written_again_when_the_project_it_embeds_changes(exporting):
    exporting.move("latent", (300.0, 40.0))
    assert exporting.evaluate(device="cpu").computed == ["export"]


def test_another_output_folder_gets_its_own_file(exporting, tmp_path):
    report = exporting.evaluate(device="cpu", output_dir=str(tmp_path / "elsewhere"))
    assert report.computed == ["export"]
    assert (tmp_path / "elsewhere" / "out" / "face.png").exists()
