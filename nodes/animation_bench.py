"""`nodegraph bench animation`: what filming a drag costs against the drag itself (issue 29).

A 300-step drag on the bundled 128 px model records every 5th step (trajectory_every 5: 61
frames); then ExportAnimation writes those frames as GIF and as WebP with the points drawn. Both
are timed in one run, on the same machine and threads, so the ratio export / drag is the figure
to read (the bar: under 1.5x). Seconds are wall time: on a shared machine compare within a run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

BAR = 1.5  # an export may cost at most this many drags
HANDLE, TARGET = [64, 66], [70, 76]  # the bundled face's nose tip, pulled down and right


def film_graph(checkpoint: str, steps: int, every: int, device: str):
    """Generator -> Latent -> DragOptimizer (never stopping early) -> one ExportAnimation per format."""
    from nodegraph import Graph

    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=checkpoint, device=device)
    latent = g.add("Latent", id="latent", seed=7)
    points = g.add("PointSet", id="points", points=[{"handle": HANDLE, "target": TARGET}])
    drag = g.add("DragOptimizer", id="drag", steps=steps, trajectory_every=every, stop_px=0.0,
                 preview_every=0)  # fmt: skip
    g.connect(gen, "generator", latent, "generator")
    g.connect(gen, "generator", drag, "generator")
    g.connect(latent, "latent", drag, "latent")
    g.connect(points, "points", drag, "points")
    for fmt in ("gif", "webp"):
        anim = g.add("ExportAnimation", id=f"film_{fmt}", path=f"film.{fmt}")
        g.connect(gen, "generator", anim, "generator")
        g.connect(drag, "trajectory", anim, "trajectory")
    return g


def measure(checkpoint: str, steps: int, every: int, device: str, folder: Path) -> dict:
    g = film_graph(checkpoint, steps, every, device)
    g.value("generator", "generator")  # loading the model is neither the drag's cost nor the film's
    start = time.perf_counter()
    trajectory = g.value("drag", "trajectory")
    drag_s = time.perf_counter() - start
    report = {"steps": steps, "trajectory_every": every, "frames": len(trajectory),
              "drag_seconds": drag_s, "formats": {}}  # fmt: skip
    for fmt in ("gif", "webp"):
        start = time.perf_counter()
        g.evaluate(outputs=[f"film_{fmt}"], output_dir=folder)
        seconds = time.perf_counter() - start
        report["formats"][fmt] = {
            "seconds": seconds,
            "ratio_to_drag": seconds / drag_s,
            "ms_per_frame": 1000 * seconds / len(trajectory),
            "bytes": (folder / f"film.{fmt}").stat().st_size,
        }
    return report


def run_bench(argv: list[str]) -> int:
    """Entry point of `nodegraph bench animation [--steps 300] [--every 5] [--json]`."""
    parser = argparse.ArgumentParser(
        prog="nodegraph bench animation", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--steps", type=int, default=300, help="drag steps (default 300)")
    parser.add_argument("--every", type=int, default=5, help="trajectory_every (default 5)")
    parser.add_argument("--checkpoint", help="default: the bundled toyfaces model")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from nodes.toyfaces.bundled import default_generator_path

    torch.set_num_threads(args.threads)
    checkpoint = str(args.checkpoint or default_generator_path())
    with tempfile.TemporaryDirectory() as tmp:
        report = measure(checkpoint, args.steps, args.every, args.device, Path(tmp))
    report.update(checkpoint=checkpoint, device=args.device, threads=args.threads, bar=BAR)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def format_report(report: dict) -> str:
    lines = [
        f"a {report['steps']}-step drag recording every {report['trajectory_every']}th step "
        f"({report['frames']} frames), {report['checkpoint']} on {report['device']}, "
        f"{report['threads']} thread(s)",
        f"drag: {report['drag_seconds']:.2f} s",
    ]
    for fmt, f in report["formats"].items():
        verdict = "met" if f["ratio_to_drag"] < report["bar"] else "NOT met"
        lines.append(
            f"export {fmt:4}: {f['seconds']:.2f} s = {f['ratio_to_drag']:.2f}x the drag "
            f"({f['ms_per_frame']:.0f} ms a frame, {f['bytes'] / 1024:.0f} KiB); "
            f"< {report['bar']}x: {verdict}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(run_bench(sys.argv[1:]))
