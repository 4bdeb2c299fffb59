"""Runs every hostile case of tests/security/hostile.py as a user would (`python -m nodegraph ...`
in a fresh process) and prints its exit code, wall time, peak memory and message.

    python -m tests.security.measure [--only NAME ...]

Peak memory is the child's maximum resident set; the `baseline` row is a process that only
imports nodegraph, the node types and torch, which every case pays too."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.security.hostile import CASES, World

BASELINE = [
    "-c",
    "import nodegraph.cli, nodes.registry, nodes.gan, torch; nodes.registry.node_types()",
]


def run_child(args: list[str], env: dict[str, str]) -> tuple[int, float, float, float, str]:
    """(exit code, wall seconds, CPU seconds, peak MB, last stderr line or first stdout line) of
    python ARGS. CPU seconds (user + system) vary less than wall time on a busy machine."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    out, err = child.stdout.read().decode(), child.stderr.read().decode()
    lines = err.strip().splitlines() or out.strip().splitlines() or [""]
    cpu = usage.ru_utime + usage.ru_stime
    return os.waitstatus_to_exitcode(status), seconds, cpu, usage.ru_maxrss / 1024, lines[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.security.measure")
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    args = parser.parse_args(argv)
    repo = str(Path(__file__).resolve().parents[2])
    print(f"{'case':38} {'exit':>4} {'want':>4} {'wall s':>7} {'CPU s':>6} {'peak MB':>8}  message")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=repo, HOME=str(Path(tmp) / "home"))
        code, seconds, cpu, peak, _ = run_child(BASELINE, env)
        print(
            f"{'baseline (imports only)':38} {code:>4} {'':>4} {seconds:7.2f} {cpu:6.2f} {peak:8.0f}"
        )
        for case in CASES:
            if args.only and case.name not in args.only:
                continue
            world = World(Path(tmp) / case.name)
            env["HOME"] = str(world.home)
            code, seconds, cpu, peak, message = run_child(
                ["-m", "nodegraph", *case.build(world)], env
            )
            print(
                f"{case.name:38} {code:>4} {case.exit_code:>4} {seconds:7.2f} {cpu:6.2f} {peak:8.0f}  {message[:160]}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
