"""A run the trust rule refuses opens a dialog; "Allow and run again" grants the permission to the
open project only, and the run then writes (docs/PROJECTS.md, issue 13)."""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from nodegraph import Graph


def outside_export_project(folder, checkpoint, target) -> str:
    g = Graph()
    gen = g.add("Generator", id="gen", checkpoint=str(checkpoint))
    lat = g.add("Latent", id="latent")
    ren = g.add("Render", id="render")
    exp = g.add("Export", id="export", path=str(target))
    g.connect(gen, "generator", lat, "generator")
    g.connect(gen, "generator", ren, "generator")
    g.connect(lat, "latent", ren, "latent")
    g.connect(ren, "image", exp, "image")
    folder.mkdir()
    g.save(folder / "p.ngproj.json")
    return str(folder / "p.ngproj.json")


def test_a_refused_write_asks_and_allow_runs_again(editor, tiny_checkpoint, tmp_path):
    target = tmp_path / "outside" / "x.png"
    assert editor.files.open(outside_export_project(tmp_path / "project", tiny_checkpoint, target))
    editor.run()
    assert editor.wait_idle(60)
    assert dpg.is_item_shown(editor.trust.window) and str(target) in dpg.get_value(
        editor.trust.text
    )
    assert not target.exists()
    editor.trust.answer(True)
    assert editor.wait_idle(60) and editor.last_report.ok, editor.status_message
    assert target.is_file() and not dpg.is_item_shown(editor.trust.window)


def test_cancel_leaves_the_project_without_permission(editor, tiny_checkpoint, tmp_path):
    target = tmp_path / "outside" / "x.png"
    assert editor.files.open(outside_export_project(tmp_path / "project", tiny_checkpoint, target))
    editor.run()
    assert editor.wait_idle(60)
    editor.trust.answer(False)
    assert not editor.graph.permissions.write_outside and not target.exists()
