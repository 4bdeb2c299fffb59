"""Editor test fixtures: an X display (Xvfb started here when DISPLAY is unset), an Editor per
test, and a tiny generator checkpoint so runs take a moment on two CPU cores."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.editor


@pytest.fixture(scope="session")
def display(tmp_path_factory: pytest.TempPathFactory):
    """A usable X display: $DISPLAY if set, else an Xvfb of our own (skip only if Xvfb is absent)."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    if shutil.which("Xvfb") is None:
        pytest.skip("no DISPLAY and Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # Xvfb writes the display number once it is ready
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
    yield os.environ["DISPLAY"]
    del os.environ["DISPLAY"]
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Recent files go to a temporary folder, never the user's ~/.config."""
    monkeypatch.setenv("NODEGRAPH_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.fixture(scope="session")
def session_editor(display):
    """One Editor for the whole session: Dear PyGui is not reliable when its context is
    destroyed and created again in one process, and one window is faster anyway."""
    from nodegraph.editor.app import Editor

    ed = Editor(device="cpu")
    ed.run_frames(2)
    yield ed
    ed.close()


@pytest.fixture
def editor(session_editor):
    """The session's Editor with a new, empty graph (as File > New does)."""
    import dearpygui.dearpygui as dpg

    from nodegraph import Graph

    ed = session_editor
    for window in _dialogs(ed):  # a prompt left open by a test would take every later input
        dpg.configure_item(window, show=False)
    ed.set_live(False)
    ed.runner.cancel()
    ed.wait_idle(timeout=60)
    ed.set_graph(Graph(), None)
    ed.status("ready")
    ed.last_report = ed.last_error = None
    ed.run_frames(2)
    return ed


def _dialogs(ed) -> list:
    files = ed.files
    windows = [ed.search_window, files.confirm_window, files.open_dialog, files.save_dialog]
    trust = getattr(ed, "trust", None)  # the trust prompt, where the editor has one
    return windows + ([trust.window] if trust is not None else [])


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nodes.gan import save_generator
    from tests.tiny import make_tiny_generator

    path = tmp_path_factory.mktemp("ckpt") / "tiny32.safetensors"
    save_generator(make_tiny_generator(resolution=32, seed=1), path)
    return path


@pytest.fixture
def xeditor(editor):
    """The editor, for tests that send real X events (xdotool): the pointer parked at a corner."""
    from tests.editor.xinput import move, require_xdotool

    require_xdotool()
    move(editor, 5, 5)
    return editor
