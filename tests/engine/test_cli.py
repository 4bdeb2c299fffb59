"""The `nodegraph` command: exit codes 0 ok, 1 node failed, 2 bad project or arguments, 130 interrupted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image

from nodegraph import Graph, cli
from nodegraph.project import project_pnginfo


@pytest.fixture
def project(global_types, tmp_path):
    """TText -> TWrite, saved; running it writes out/result.txt next to the project."""
    g = Graph()
    t = g.add("TText", id="t", text="hello")
    w = g.add("TWrite", id="w")
    g.connect(t, "text", w, "text")
    path = tmp_path / "p.ngproj.json"
    g.save(path)
    return path


def save_graph(tmp_path, build):
    g = Graph()
    build(g)
    path = tmp_path / "g.ngproj.json"
    g.save(path)
    return str(path)


def test_run_ok_exits_0_and_says_what_it_wrote(project, capsys):
    assert cli.main(["run", str(project), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    written = project.parent / "out" / "result.txt"
    assert f"wrote {written}" in out and "computed" in out
    assert written.read_text() == "hello"


def test_run_set_overrides_a_param_and_output_dir_moves_outputs(project, tmp_path, capsys):
    code = cli.main(
        [
            "run",
            str(project),
            "--device",
            "cpu",
            "--quiet",
            "--set",
            "t.text=bye",
            "--output-dir",
            str(tmp_path / "elsewhere"),
        ]
    )
    assert code == 0
    assert (tmp_path / "elsewhere" / "out" / "result.txt").read_text() == "bye"
    assert (
        capsys.readouterr().out.strip() == f"wrote {tmp_path / 'elsewhere' / 'out' / 'result.txt'}"
    )


def test_set_value_is_json_when_it_parses(global_types, tmp_path):
    g = Graph()
    c = g.add("TConst", id="c")
    cli.apply_set(g, "c.count=3")
    cli.apply_set(g, 'c.items=[1, "a"]')
    assert g.params(c)["count"] == 3 and g.params(c)["items"] == [1, "a"]


def test_run_prints_each_node_warning_on_one_line_even_when_quiet(global_types, tmp_path, capsys):
    def build(g):
        g.add("TWarn", id="half", warning="ended short:\n3.2 px left")
        g.connect("half", "text", g.add("TWrite", id="w"), "text")

    assert cli.main(["run", save_graph(tmp_path, build), "--device", "cpu", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "nodegraph: warning: node 'half' (TWarn): ended short:\\n3.2 px left" in err.splitlines()


def test_failed_node_exits_1_and_prints_the_node_error(global_types, tmp_path, capsys):
    path = save_graph(tmp_path, lambda g: g.add("TFail", id="f"))
    assert cli.main(["run", path, "--device", "cpu"]) == 1
    assert "node 'f' (TFail) failed: ValueError: boom" in capsys.readouterr().err


def test_bad_project_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.ngproj.json"
    path.write_text("{not json")
    assert cli.main(["run", str(path)]) == 2
    assert "bad.ngproj.json" in capsys.readouterr().err


@pytest.mark.parametrize(
    "assignment", ["nodot=1", "t.text", "ghost.text=1", "t.nope=1", "t.text=5"]
)
def test_bad_set_exits_2(project, assignment, capsys):
    assert cli.main(["run", str(project), "--set", assignment]) == 2
    assert "error" in capsys.readouterr().err


def test_unavailable_device_exits_2(project, capsys):
    assert cli.main(["run", str(project), "--device", "tpu"]) == 2


def test_unknown_option_exits_2(capsys):
    assert cli.main(["run"]) == 2


def test_ctrl_c_cancels_the_running_node_and_exits_130(global_types, tmp_path, capsys):
    path = save_graph(tmp_path, lambda g: g.add("TInterrupt", id="i"))
    assert cli.main(["run", path, "--device", "cpu"]) == 130
    assert "cancelling" in capsys.readouterr().err


def test_run_reopens_a_png_with_an_embedded_project(project, tmp_path):
    png = tmp_path / "image.png"
    data = Graph.load(project).to_json()
    Image.new("RGB", (2, 2)).save(png, pnginfo=project_pnginfo(data))
    assert cli.main(["run", str(png), "--device", "cpu", "--quiet"]) == 0
    assert (tmp_path / "out" / "result.txt").read_text() == "hello"


def test_nodes_json_lists_types_with_ports_and_params(global_types, capsys):
    assert cli.main(["nodes", "--json"]) == 0
    types = {t["type"]: t for t in json.loads(capsys.readouterr().out)}
    const = types["TConst"]
    assert const["outputs"] == [{"name": "out", "type": "NUMBER", "doc": ""}]
    assert {
        "name": "value",
        "type": "float",
        "default": 0.0,
        "doc": "the number",
        "min": -100,
        "max": 100,
    } in const["params"]


def test_help_lists_commands_from_entry_points(monkeypatch, capsys):
    monkeypatch.setattr(
        cli, "load_cli_commands", lambda: {"info": ("describe a checkpoint", lambda argv: 0)}
    )
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "info" in out and "describe a checkpoint" in out and "run" in out


def test_entry_point_command_gets_the_remaining_arguments(monkeypatch):
    seen = []
    monkeypatch.setattr(
        cli, "load_cli_commands", lambda: {"bench": ("", lambda argv: seen.append(argv) or 7)}
    )
    assert cli.main(["bench", "--steps", "3"]) == 7 and seen == [["--steps", "3"]]


def test_edit_without_dearpygui_exits_2(monkeypatch, capsys):
    def missing(name):
        raise ModuleNotFoundError("No module named 'dearpygui'", name="dearpygui")

    monkeypatch.setattr(cli.importlib, "import_module", missing)
    assert cli.main(["edit"]) == 2
    assert "dearpygui" in capsys.readouterr().err


def test_python_m_nodegraph_nodes_runs():
    result = subprocess.run(
        [sys.executable, "-m", "nodegraph", "nodes"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
