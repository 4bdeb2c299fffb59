"""`nodegraph bench landmarks-oracle`: what an image whose landmarks sit on the targets scores.

For the landmark benchmark's pairs (the same seeds as `bench landmarks`), W+ rows 0..layers-1 of
the first face are optimised so that the detector's landmarks land on the second face's: the
loss is the true landmark distance itself, which no drag has. The PSNR of that image against the
target render says how much of the target the landmarks alone pin down (not a bound: other
images with the same landmarks score otherwise); beside it the PSNR of the start image, of the
first face with the second's geometry rows (rows 0..layers-1 of w2), and of G(z2).
"""

from __future__ import annotations

import argparse
import json
import statistics

import torch

from nodes.metrics import psnr

from .bench import PAIR_SEEDS, load_models
from .latent_space import face_params, geometry_pair
from .render import render_batch


def oracle_pair(G, detector, seed: int, steps: int, lr: float, layers: int) -> dict:
    """The figures of one pair (see the module's docstring)."""
    z1, z2 = geometry_pair(seed)
    real2, marks2 = render_batch(params=face_params(z2))
    real2, targets = real2.to(G.device), marks2[0].to(G.device)
    with torch.no_grad():
        ws1, ws2 = G.mapping(z1.to(G.device)), G.mapping(z2.to(G.device))
        start = float(psnr(G.synthesis(ws1).clamp(-1, 1), real2))
        own = float(psnr(G.synthesis(ws2).clamp(-1, 1), real2))
        rows = torch.cat([ws2[:, :layers], ws1[:, layers:]], 1)
        geometry_rows = float(psnr(G.synthesis(rows).clamp(-1, 1), real2))
    delta = torch.zeros_like(ws1[:, :layers], requires_grad=True)
    optimiser = torch.optim.Adam([delta], lr=lr)

    def image() -> torch.Tensor:
        return G.synthesis(torch.cat([ws1[:, :layers] + delta, ws1[:, layers:]], 1)).clamp(-1, 1)

    for _ in range(steps):
        loss = (detector(image())[0] - targets).norm(dim=-1).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        final = image()
        distance = float((detector(final)[0] - targets).norm(dim=-1).mean())
        reached = float(psnr(final, real2))
    return {"seed": seed, "start_db": start, "oracle_db": reached, "oracle_distance_px": distance,
            "geometry_rows_db": geometry_rows, "generator_db": own}  # fmt: skip


def run_bench(argv: list[str]) -> int:
    """Entry point of `nodegraph bench landmarks-oracle [--pairs 16] [--json]`."""
    parser = argparse.ArgumentParser(
        prog="nodegraph bench landmarks-oracle", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="as bench landmarks --seed")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument(
        "--layers", type=int, default=6, help="W+ rows optimised (a drag's default)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    G, detector = load_models(None, None, args.device)
    G.requires_grad_(False)
    detector.requires_grad_(False)
    rows = []
    for i in range(args.pairs):
        seed = PAIR_SEEDS.start + args.seed * 1000 + i
        rows.append(oracle_pair(G, detector, seed, args.steps, args.lr, args.layers))
        if not args.json:
            r = rows[-1]
            print(f"pair {i} (seed {seed}): start {r['start_db']:.2f} dB; landmarks on target "
                  f"({r['oracle_distance_px']:.2f} px) {r['oracle_db']:.2f} dB; w2's geometry rows "
                  f"{r['geometry_rows_db']:.2f} dB; G(z2) {r['generator_db']:.2f} dB", flush=True)  # fmt: skip
    summary = {key: statistics.fmean(r[key] for r in rows) for key in rows[0] if key != "seed"}
    summary["oracle_db_min"] = min(r["oracle_db"] for r in rows)
    if args.json:
        print(json.dumps({"pairs": rows, "mean": summary}, indent=1))
    else:
        print(f"mean: start {summary['start_db']:.2f} dB, landmark oracle {summary['oracle_db']:.2f} dB "
              f"(worst {summary['oracle_db_min']:.2f}) at {summary['oracle_distance_px']:.2f} px, "
              f"geometry rows {summary['geometry_rows_db']:.2f} dB, G(z2) {summary['generator_db']:.2f} dB")  # fmt: skip
    return 0
