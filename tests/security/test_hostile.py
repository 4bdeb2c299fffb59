"""Issue 13: untrusted projects, PNGs and checkpoints. Every hostile case ends with its exit code
and one clear line (no traceback), and nothing outside the output folder is created or changed."""

from __future__ import annotations

import pytest

from nodegraph import cli
from tests.security.conftest import snapshot
from tests.security.hostile import (
    CASES,
    export_absolute,
    export_foreign_overwrite,
    export_foreign_overwrite_from_png,
    run,
    save_project,
)


def output_folder(world, argv):
    return world.out if "--output-dir" in argv else world.project


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_input_ends_with_one_clear_line_and_touches_nothing_outside(case, world, capsys):
    argv = case.build(world)
    before = snapshot(world.root, skip=output_folder(world, argv))
    capsys.readouterr()
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == case.exit_code, err
    if case.exit_code:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nodegraph") and "Traceback" not in err, err
        assert case.message in lines[0]
    else:
        assert case.message in out and "error" not in err
    assert snapshot(world.root, skip=output_folder(world, argv)) == before


@pytest.mark.parametrize("build", [export_foreign_overwrite, export_foreign_overwrite_from_png])
def test_a_projects_own_overwrite_leaves_a_foreign_file_alone(build, world, capsys):
    argv = build(world)
    photo = (world.project / "photo.png").read_bytes()
    assert cli.main(argv) == 1
    assert (world.project / "photo.png").read_bytes() == photo


@pytest.mark.parametrize("build", [export_foreign_overwrite, export_foreign_overwrite_from_png])
def test_the_user_can_allow_replacing_a_foreign_file(build, world, capsys):
    argv = build(world)
    photo = (world.project / "photo.png").read_bytes()
    assert cli.main([*argv, "--allow-overwrite-foreign"]) == 0, capsys.readouterr().err
    assert (world.project / "photo.png").read_bytes() != photo


def test_the_user_can_allow_writing_outside(world, capsys):
    argv = export_absolute(world)
    assert cli.main([*argv, "--allow-outside"]) == 0, capsys.readouterr().err
    assert (world.outside / "x" / "x.png").is_file()


def test_refused_writes_create_no_folders(world, capsys):
    assert cli.main(export_absolute(world)) == 2
    assert not (world.outside / "x").exists()


def test_reads_outside_the_project_folder_are_listed(world, capsys):
    argv = export_foreign_overwrite(world)  # its generator lives in world.models
    cli.main([*argv, "--allow-overwrite-foreign"])
    out = capsys.readouterr().out
    assert f"read outside the project folder: {world.checkpoint()} (node 'gen')" in out


def test_a_message_quoting_a_hostile_name_stays_one_line(world, capsys):
    name = "evil\nnodegraph: ok\x1b[2J.png"  # a line break and a terminal escape
    argv = run(save_project(world, lambda g: g.add("ImageLoad", id="load", path=name)))
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "\x1b" not in err and "\\n" in err
