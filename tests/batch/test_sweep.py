"""Sweeps and jobs: SPEC forms (range, list, @file), grid and zip, stable job ids, refusals."""

from __future__ import annotations

import pytest

from nodegraph.batching import Sweep, make_jobs, parse_sweep, plan
from nodegraph.batching.run import BatchSpec
from nodegraph.errors import BatchError


def test_a_range_is_python_range_with_the_end_left_out():
    assert parse_sweep("latent.seed=0:4").values == (0, 1, 2, 3)
    assert parse_sweep("latent.seed=10:0:-5").values == (10, 5)


def test_a_list_holds_json_values_or_text():
    sweep = parse_sweep("drag.lr=0.5,1e-3, 2")
    assert (sweep.node, sweep.param, sweep.values) == ("drag", "lr", (0.5, 0.001, 2))
    assert parse_sweep("drag.tracking=nn,subpixel").values == ("nn", "subpixel")


def test_a_file_gives_one_value_per_line_skipping_blanks_and_comments(tmp_path):
    (tmp_path / "points.txt").write_text('# pairs\n[{"handle": [1, 2], "target": [3, 4]}]\n\n[]\n')
    sweep = parse_sweep("points.points=@points.txt", base_dir=tmp_path)
    assert sweep.values == ([{"handle": [1, 2], "target": [3, 4]}], [])


def test_several_sweeps_form_a_grid_with_the_first_outermost():
    jobs = make_jobs([Sweep("latent", "seed", (0, 1)), Sweep("drag", "steps", (5, 9))])
    assert [job.overrides for job in jobs] == [
        {"latent.seed": 0, "drag.steps": 5},
        {"latent.seed": 0, "drag.steps": 9},
        {"latent.seed": 1, "drag.steps": 5},
        {"latent.seed": 1, "drag.steps": 9},
    ]
    assert jobs[1].id == "latent.seed=0,drag.steps=9"


def test_zip_pairs_the_values_and_sets_apply_to_every_job():
    jobs = make_jobs(
        [Sweep("latent", "seed", (0, 1)), Sweep("drag", "steps", (5, 9))], {"drag.lr": 0.01}, zipped=True
    )
    assert [job.overrides for job in jobs] == [
        {"drag.lr": 0.01, "latent.seed": 0, "drag.steps": 5},
        {"drag.lr": 0.01, "latent.seed": 1, "drag.steps": 9},
    ]


def test_a_value_that_is_no_plain_word_is_named_by_a_digest_in_the_id():
    jobs = make_jobs([Sweep("points", "points", ([{"handle": [1, 2], "target": [3, 4]}], []))])
    assert all(job.id.startswith("points.points=h") and "/" not in job.id for job in jobs)
    assert jobs[0].id != jobs[1].id


@pytest.mark.parametrize(
    "sweeps, sets, zipped, message",
    [
        ([Sweep("a", "x", (1, 2)), Sweep("b", "y", (1,))], {}, True, "--zip needs sweeps of one length"),
        ([Sweep("a", "x", (1, 1))], {}, False, "share the id"),
        ([Sweep("a", "x", (1,)), Sweep("a", "x", (2,))], {}, False, "given twice"),
        ([Sweep("a", "x", (1,))], {"a.x": 3}, False, "both swept"),
    ],
)
def test_inconsistent_sweeps_are_refused(sweeps, sets, zipped, message):
    with pytest.raises(BatchError, match=message):
        make_jobs(sweeps, sets, zipped)


@pytest.mark.parametrize(
    "text, message",
    [("seed=0:3", "NODE.PARAM=VALUE"), ("latent.seed=5:5", "no values"), ("latent.seed=0:9:0", "cannot be 0"),
     ("latent.seed=@missing.txt", "cannot read the values file")],
)
def test_bad_specs_are_refused_naming_the_sweep(text, message):
    with pytest.raises(BatchError, match=message):
        parse_sweep(text)


def test_planning_checks_every_override_against_the_project(drag_project, tmp_path):
    spec = BatchSpec(drag_project, tmp_path / "out", ["latent.seed=0:3", "drag.steps=5,-1"])
    with pytest.raises(BatchError, match=r"job latent.seed=0,drag.steps=-1: node 'drag' \(DragOptimizer\) param 'steps'"):
        plan(spec)
    spec = BatchSpec(drag_project, tmp_path / "out", ["latnt.seed=0:3"])
    with pytest.raises(BatchError, match="no node 'latnt'"):
        plan(spec)
