"""Issue 27: a project naming a model that is not in the cache never downloads by itself; in the
editor the run asks, and a click on "Allow and run again" downloads it (through a mirror the test
serves on 127.0.0.1) and runs. Real X clicks on the dialog's buttons."""

# ruff: noqa: F811 (the model tests' fixtures, imported, are the tests' parameters)
from __future__ import annotations

import dearpygui.dearpygui as dpg
import pytest

from tests.editor.helpers import item_center, pump, wait_until
from tests.editor.xinput import click
from tests.models.conftest import cache, server, tiny_pickle  # noqa: F401 (fixtures)
from tests.models.test_by_name import FFHQ, tiny_project

pytestmark = pytest.mark.editor


@pytest.fixture
def mirrored(server, tiny_pickle, monkeypatch):
    server.serve("/mirror/stylegan2-ffhq-512x512.pkl", tiny_pickle[0])
    monkeypatch.setenv("NODEGRAPH_MODEL_MIRROR", server.url + "/mirror")
    return server


def _asked(editor) -> str:
    wait_until(editor, lambda: dpg.is_item_shown(editor.trust.window), 60, "the trust dialog")
    pump(editor, 3)  # laid out, so its buttons have their place on screen
    return dpg.get_value(editor.trust.text)


def test_allow_in_the_dialog_downloads_the_named_model_and_runs(
    xeditor,
    tmp_path,
    cache,
    mirrored,
):
    assert xeditor.files.open(str(tiny_project(tmp_path, FFHQ)))
    xeditor.run()
    assert FFHQ in _asked(xeditor) and "Download it now" in _asked(xeditor)
    assert mirrored.requests == [] and not (tmp_path / "out.png").exists()
    click(xeditor, *item_center(xeditor.trust.allow_button))
    wait_until(xeditor, lambda: (tmp_path / "out.png").exists(), 60, "the run after the download")
    assert xeditor.wait_idle(60) and xeditor.last_report.ok, xeditor.status_message
    assert [path for path, _ in mirrored.requests] == ["/mirror/stylegan2-ffhq-512x512.pkl"]
    assert (cache / "models" / f"{FFHQ}.safetensors").is_file()
    assert xeditor.graph.permissions.download and not dpg.is_item_shown(xeditor.trust.window)


def test_cancel_in_the_dialog_downloads_nothing(xeditor, tmp_path, cache, mirrored):
    assert xeditor.files.open(str(tiny_project(tmp_path, FFHQ)))
    xeditor.run()
    _asked(xeditor)
    click(xeditor, *item_center(xeditor.trust.cancel_button))
    wait_until(xeditor, lambda: not dpg.is_item_shown(xeditor.trust.window), 10, "dialog closed")
    pump(xeditor, 5)
    assert mirrored.requests == [] and not xeditor.graph.permissions.download
    assert not (cache / "models").exists() or not any((cache / "models").glob("*.safetensors"))
    assert not (tmp_path / "out.png").exists()
