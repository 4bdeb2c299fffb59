"""`nodegraph bench invert`: how well inversion reconstructs held-out toyfaces renders.

For N renders the generator never saw (seeds from 2_000_000 on; training draws seeds < 10**6
and its held-out set is 1_000_000..1_000_255), the PSNR of the reconstruction and the seconds
per image for W, W+ and W+ followed by Pivotal Tuning; also the PSNR of the generator's own
image of each face's true z (what the generator makes of the face without any search).
Seconds are wall time on a possibly shared machine: compare them within one run only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from nodes.metrics import psnr

from .invert import invert
from .losses import LOSSES, reconstruction_loss
from .pti import pivotal_tuning

SEED_BASE = 2_000_000
TARGETS_DB = {"w+": 24.0, "w+pti": 28.0}  # issue 8
PRELIMINARY = Path("runs/toyfaces/toyfaces128.safetensors")


def default_checkpoint() -> Path:
    """The packaged toyfaces generator, else the training run's latest export."""
    from nodes.toyfaces.bundled import GENERATOR_FILE

    for path in (GENERATOR_FILE, PRELIMINARY):
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"no toyfaces generator at {GENERATOR_FILE} or {PRELIMINARY}: train one "
        "(`python -m nodes.toyfaces.train`) or pass --checkpoint"
    )


def held_out_faces(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(z [n, Z_DIM], renders [n, 3, 128, 128]) of seeds SEED_BASE .. SEED_BASE + n - 1."""
    from nodes.toyfaces.latent_space import face_params, z_for_seeds
    from nodes.toyfaces.render import render_batch

    z = z_for_seeds(range(SEED_BASE, SEED_BASE + n))
    return z, render_batch(params=face_params(z))[0]


def bench_one(G, target: torch.Tensor, args) -> dict[str, tuple[float, float]]:
    """{method: (PSNR dB, seconds)} for one target; 'w+pti' seconds include its W+ search."""
    figures = {}
    for space in ("w", "w+"):
        start = time.perf_counter()
        result = invert(G, target, steps=args.steps, space=space, lr=args.lr, loss=args.loss)
        figures[space] = (result.pivot_psnr, time.perf_counter() - start)
    start = time.perf_counter()
    loss_fn = reconstruction_loss(args.loss, G.device)
    tuned, _ = pivotal_tuning(G, result.ws, target, args.pti_steps, args.pti_lr, loss_fn)
    with torch.no_grad():
        tuned_psnr = float(psnr(tuned.synthesis(result.ws), target))
    figures["w+pti"] = (tuned_psnr, figures["w+"][1] + time.perf_counter() - start)
    return figures


def summarise(rows: list[dict[str, tuple[float, float]]]) -> dict[str, dict[str, float]]:
    out = {}
    for method in rows[0]:
        scores = [row[method][0] for row in rows]
        out[method] = {
            "psnr_mean": statistics.fmean(scores),
            "psnr_min": min(scores),
            "psnr_max": max(scores),
            "seconds_mean": statistics.fmean(row[method][1] for row in rows),
        }
    return out


def run_bench(argv: list[str]) -> int:
    """Entry point of `nodegraph bench invert [--n 32] [--json] [--steps N] [--pti-steps N]`."""
    parser = argparse.ArgumentParser(prog="nodegraph bench invert", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=32, help="held-out renders (default 32)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--steps", type=int, default=200, help="latent search steps (W and W+)")
    parser.add_argument("--pti-steps", type=int, default=100, help="Pivotal Tuning steps after W+")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--pti-lr", type=float, default=1e-3)
    parser.add_argument("--loss", default="l2+edges", choices=LOSSES)
    parser.add_argument("--checkpoint", type=Path, help="default: the bundled toyfaces model")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    from nodes.gan import load_generator

    torch.set_num_threads(args.threads)
    checkpoint = args.checkpoint or default_checkpoint()
    G = load_generator(checkpoint, device=args.device).eval().requires_grad_(False)
    z, targets = held_out_faces(args.n)
    with torch.no_grad():
        own = [float(psnr(G(z[i : i + 1].to(G.device), noise_mode="const"), targets[i : i + 1].to(G.device))) for i in range(args.n)]
    rows = []
    for i in range(args.n):
        rows.append(bench_one(G, targets[i : i + 1].to(G.device), args))
        line = ", ".join(f"{m} {p:.2f} dB {s:.1f} s" for m, (p, s) in rows[-1].items())
        print(f"[{i + 1}/{args.n}] seed {SEED_BASE + i}: {line}", file=sys.stderr, flush=True)
    report = {
        "checkpoint": str(checkpoint),
        "n": args.n,
        "seeds": [SEED_BASE, SEED_BASE + args.n - 1],
        "steps": args.steps,
        "pti_steps": args.pti_steps,
        "lr": args.lr,
        "pti_lr": args.pti_lr,
        "loss": args.loss,
        "device": str(G.device),
        "generator_own_psnr_mean": statistics.fmean(own),
        "methods": summarise(rows),
        "targets_db": TARGETS_DB,
    }
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def format_report(report: dict) -> str:
    lines = [
        f"inversion of {report['n']} held-out toyfaces renders (seeds {report['seeds'][0]}..{report['seeds'][1]}), "
        f"{report['checkpoint']} on {report['device']}",
        f"{report['steps']} search steps (lr {report['lr']}), {report['pti_steps']} PTI steps (lr {report['pti_lr']}), loss {report['loss']}",
        f"{'method':8} {'PSNR mean':>10} {'min':>7} {'max':>7} {'s/image':>8}  target",
    ]
    for method, f in report["methods"].items():
        target = TARGETS_DB.get(method)
        verdict = "" if target is None else f">= {target:.0f} dB: {'met' if f['psnr_mean'] >= target else 'NOT met'}"
        lines.append(f"{method:8} {f['psnr_mean']:10.2f} {f['psnr_min']:7.2f} {f['psnr_max']:7.2f} {f['seconds_mean']:8.1f}  {verdict}")
    lines.append(f"(the generator's own image of each true z: {report['generator_own_psnr_mean']:.2f} dB)")
    return "\n".join(lines)
