"""Measures the editor's frame rate the way a user meets it: idle, then during a drag while the
mouse moves. Needs an X display and xdotool; on a headless machine run it under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m nodegraph.editor.fps_probe PROJECT

It opens PROJECT with `nodegraph edit --fps-log`, waits (idle seconds), presses Ctrl+Enter (Run),
moves the pointer over the window at about 66 Hz with XTest until the run ends, and prints the
per-second figures of the log summarised: idle CPU, and frames per second while running."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MOTION_HZ = 66.0


def read_log(path: Path) -> list[tuple[float, int, float, float, str]]:
    """The fps log's rows: (seconds, frames, fps, cpu_percent, state)."""
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        seconds, frames, fps, cpu, state = line.split()
        rows.append((float(seconds), int(frames), float(fps), float(cpu), state))
    return rows


def summarise(rows: list[tuple[float, int, float, float, str]], idle_until: float) -> dict:
    """Idle CPU from the quiet seconds before Run (the first second, start-up, left out);
    fps from the whole seconds spent running (the first and last, partly idle, left out)."""
    idle = [row for row in rows if 1.0 < row[0] <= idle_until and row[4] == "idle"]
    running = [row for row in rows if row[4] == "running"][1:-1]
    if not idle or not running:
        raise RuntimeError(f"the log has {len(idle)} idle and {len(running)} running seconds")
    fps = [row[2] for row in running]
    return {
        "idle_cpu_percent": statistics.median(row[3] for row in idle),
        "running_seconds": len(running),
        "fps_min": min(fps),
        "fps_median": statistics.median(fps),
        "running_cpu_percent": statistics.median(row[3] for row in running),
    }


def _xdo(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=10)


def probe(project: str, idle_s: float, limit_s: float, log: Path) -> dict:
    editor = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from nodegraph.cli import main; sys.exit(main())",
            "edit",
            project,
            "--fps-log",
            str(log),
        ]
    )
    try:
        time.sleep(idle_s + 2.0)  # start-up, then the idle seconds the log records
        rows = read_log(log) if log.exists() else []
        idle_until = rows[-1][0] if rows else idle_s
        _xdo("mousemove", "400", "300", "click", "1")
        time.sleep(0.3)
        for args in (
            ("keydown", "ctrl"),
            ("keydown", "Return"),
            ("keyup", "Return"),
            ("keyup", "ctrl"),
        ):
            _xdo(*args)
            time.sleep(0.1)
        started = time.monotonic()
        step = 0
        while time.monotonic() - started < limit_s:
            step += 1
            _xdo("mousemove", str(300 + (step * 7) % 400), str(250 + (step * 3) % 200))
            time.sleep(1.0 / MOTION_HZ)
            if step % 66 == 0 and time.monotonic() - started > 3.0:
                rows = read_log(log)
                if rows and rows[-1][4] == "idle" and any(row[4] == "running" for row in rows):
                    break
    finally:
        editor.terminate()
        editor.wait(timeout=30)
    return summarise(read_log(log), idle_until)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nodegraph.editor.fps_probe", description=__doc__
    )
    parser.add_argument("project")
    parser.add_argument("--idle", type=float, default=8.0, help="idle seconds measured before Run")
    parser.add_argument("--limit", type=float, default=120.0, help="most seconds of mouse motion")
    parser.add_argument("--log", help="where the fps log goes (default: a temporary file)")
    args = parser.parse_args(argv)
    log = Path(args.log) if args.log else Path(tempfile.mkdtemp()) / "fps.log"
    figures = probe(args.project, args.idle, args.limit, log)
    print(
        f"idle: {figures['idle_cpu_percent']:.1f} % of a core; during the run "
        f"({figures['running_seconds']} s, pointer moving at {MOTION_HZ:.0f} Hz): "
        f"{figures['fps_median']:.1f} fps median, {figures['fps_min']:.1f} min, "
        f"process CPU {figures['running_cpu_percent']:.0f} %"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
