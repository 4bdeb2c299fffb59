"""Issue 26, row 6 (the CLI half): --debug and NODEGRAPH_DEBUG=1 show the traceback before the
one line; Ctrl+C (SIGINT) while a large project loads or while a drag runs exits 130 with no
traceback, each in a fresh `python -m nodegraph` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.security.subprocess_cli import REPO

MISSING = "no-such.ngproj.json"


def _nodegraph(args: list[str], tmp_path, **env) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if k != "NODEGRAPH_DEBUG"}
    environ.update(PYTHONPATH=REPO, HOME=str(tmp_path), OMP_NUM_THREADS="1", **env)
    return subprocess.Popen(
        [sys.executable, "-m", "nodegraph", *args], cwd=tmp_path, env=environ,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args, env, traceback",
    [
        (["run", MISSING], {}, False),
        (["run", MISSING, "--debug"], {}, True),
        (["--debug", "run", MISSING], {}, True),
        (["run", MISSING], {"NODEGRAPH_DEBUG": "1"}, True),
        (["run", MISSING], {"NODEGRAPH_DEBUG": "0"}, False),
    ],
    ids=["plain", "flag-after", "flag-before", "env", "env-0"],
)
def test_debug_shows_the_traceback_before_the_one_line(tmp_path, args, env, traceback):
    child = _nodegraph(args, tmp_path, **env)
    _, err = child.communicate(timeout=60)
    lines = err.strip().splitlines()
    assert child.returncode == 2
    assert ("Traceback (most recent call last)" in err) == traceback, err
    assert lines[-1].startswith("nodegraph: error: ") and MISSING in lines[-1]
    assert len(lines[-1]) < 300 and (traceback or len(lines) == 1), lines


def _interrupted(child: subprocess.Popen) -> str:
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    return err


def test_ctrl_c_while_a_large_project_loads_exits_130(tmp_path):
    project = tmp_path / "big.ngproj.json"
    meta = {"x": [[0.5, 1.5, 2.5]] * 900_000}  # 15 MB: loading takes seconds, run nothing
    doc = {"format": "nodegraph.project", "version": 1, "nodes": [], "links": [], "meta": meta}
    project.write_text(json.dumps(doc))
    child = _nodegraph(["run", str(project), "--quiet"], tmp_path)
    time.sleep(1.5)  # past the imports, inside load
    assert child.poll() is None, "the project loaded before Ctrl+C: make it larger"
    err = _interrupted(child)
    assert err.strip().splitlines() == ["nodegraph: interrupted"]


def test_ctrl_c_during_a_drag_cancels_it_and_exits_130(tmp_path):
    from tests.batch.conftest import save_drag_project

    project = save_drag_project(tmp_path, steps=100_000)
    child = _nodegraph(["run", str(project), "--device", "cpu"], tmp_path)
    seen = ""
    while "drag:" not in seen:  # the drag's progress bar: it is running
        chunk = child.stderr.readline()
        assert chunk, seen
        seen += chunk
    err = _interrupted(child)
    assert "nodegraph: cancelled" in err and not (tmp_path / "img.png").exists()


@pytest.mark.parametrize("delay", [0.5])
def test_ctrl_c_while_the_program_still_imports_exits_130(tmp_path, delay):
    # `nodegraph nodes` spends its first second importing torch, networkx and the node types
    # (nodegraph.entry catches Ctrl+C there; nodegraph.cli.main after).
    child = _nodegraph(["nodes"], tmp_path)
    time.sleep(delay)
    assert child.poll() is None, "the command ended before Ctrl+C"
    err = _interrupted(child)
    assert err.strip().splitlines() == ["nodegraph: interrupted"]


def test_a_ctrl_c_that_a_weakref_callback_swallows_still_exits_130(monkeypatch, capsys):
    """Python drops an exception raised in a weakref callback ('Exception ignored'): a Ctrl+C
    landing in one (importlib's module locks have them, during the lazy imports) must still end
    the command with 130 and the one line, not let it finish with 0."""
    import weakref

    from nodegraph import cli

    class Thing:
        pass

    def dispatch(argv):
        thing = Thing()
        sigint = signal.getsignal(signal.SIGINT)  # the handler cli.main installed
        ref = weakref.ref(thing, lambda _: sigint(signal.SIGINT, None))
        del thing  # the callback runs here and its KeyboardInterrupt is dropped
        assert ref() is None
        return 0

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN under a background job
    assert cli.main(["nodes"]) == 130
    assert capsys.readouterr().err == "nodegraph: interrupted\n"
    assert signal.getsignal(signal.SIGINT) is before  # restored
