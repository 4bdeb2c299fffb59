"""`nodegraph bench drag` runs end to end (tiny config) and its variants compute the same loss."""

from __future__ import annotations

import json

from nodes.commands import commands


def test_bench_drag_prints_ratios_and_memory_as_json(capsys):
    code = commands()["bench"](
        ["drag", "--json", "--configs", "tiny", "--steps", "2", "--device", "cpu", "--threads", "1"]
    )
    report = json.loads(capsys.readouterr().out)
    tiny = report["configs"]["tiny"]
    assert code == 0 and tiny["same_loss"]
    assert tiny["engine"]["ms_per_step"] > 0 and tiny["reference"]["peak_bytes"] > 0
    assert {
        "step_ratio",
        "peak_memory_ratio",
        "loop_memory_ratio",
        "loss_max_rel_diff",
    } <= tiny.keys()


def test_commands_unpack_as_help_and_function_and_unknown_bench_fails(capsys):
    help_text, run = commands()["bench"]
    assert "bench" in help_text
    assert run(["no-such-bench"]) == 2
    assert "drag" in capsys.readouterr().out
