"""`nodegraph bench drag` runs end to end (tiny config) and its variants compute the same loss."""

from __future__ import annotations

import json

import pytest
import torch

from nodes.cli_commands import cli_commands


def test_bench_drag_prints_ratios_and_memory_as_json(capsys):
    code = cli_commands()["bench"](
        ["drag", "--json", "--configs", "tiny", "--scenarios", "5-handles,masked"]
        + ["--steps", "2", "--device", "cpu", "--threads", "1"]
    )
    report = json.loads(capsys.readouterr().out)
    tiny = report["configs"]["tiny"]
    assert code == 0 and set(tiny) == {"5-handles", "masked"}
    for entry in tiny.values():
        assert entry["same_loss"] and entry["loss_max_rel_diff"] <= 1e-8  # in float64
        assert 0 <= entry["float32_error"]["engine"] <= 1e-2  # float32 rounding only
        assert entry["engine"]["losses"] != entry["reference"]["losses"]  # two computations
        assert entry["engine"]["ms_per_step"] > 0 and entry["reference"]["peak_bytes"] > 0
        assert entry["engine"]["ops_per_step"] > 50 and entry["reference"]["ops_per_step"] > 50
        assert {"step_ratio", "peak_memory_ratio", "tensor_memory_ratio", "loop_memory_ratio"} <= (
            entry.keys()
        )


def test_bench_drag_refuses_an_unknown_scenario(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_commands()["bench"](["drag", "--scenarios", "7-handles", "--configs", "tiny"])
    assert exit_info.value.code == 2
    assert "7-handles" in capsys.readouterr().err


def test_commands_unpack_as_help_and_function_and_unknown_bench_fails(capsys):
    help_text, run = cli_commands()["bench"]
    assert "bench" in help_text
    assert run(["no-such-bench"]) == 2
    assert "drag" in capsys.readouterr().out


def test_bench_drag_precision_needs_cuda(capsys):
    with pytest.raises(SystemExit):
        cli_commands()["bench"](["drag", "--configs", "tiny", "--device", "cpu", "--precision", "float16"])
    assert "--precision needs --device cuda" in capsys.readouterr().err


def test_a_half_precision_run_times_the_engine_with_half_blocks(monkeypatch):
    """run_variant's `precision` reaches the generator: with its half blocks simulated on the CPU
    (as tests/drag/test_precision.py), the losses move off float32's by rounding only."""
    from nodes.drag.bench import run_variant
    from nodes.gan.model import SynthesisBlock

    monkeypatch.setattr(SynthesisBlock, "working_dtype", lambda block, device: block.dtype if block.dtype != torch.float32 else block.conv1.weight.dtype)  # fmt: skip
    full = run_variant("tiny", "engine", 3, "cpu", scenario_name="1-handle")
    half = run_variant("tiny", "engine", 3, "cpu", scenario_name="1-handle", precision="float16")
    assert half["losses"] != full["losses"]
    assert half["losses"] == pytest.approx(full["losses"], rel=0.03)


def test_bench_drag_whole_map_runs_the_engine_uncropped(capsys):
    code = cli_commands()["bench"](
        ["drag", "--json", "--configs", "tiny", "--scenarios", "1-handle", "--steps", "2",
         "--device", "cpu", "--threads", "1", "--whole-map"]  # fmt: skip
    )
    entry = json.loads(capsys.readouterr().out)["configs"]["tiny"]["1-handle"]
    whole = entry["whole_map"]
    assert code == 0 and whole["ms_per_step"] > 0 and whole["ops_per_step"] > 50
    assert whole["loss_error"] <= 1e-2  # the same drag, float32 rounding only
