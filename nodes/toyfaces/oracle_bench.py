"""`nodegraph bench landmarks-oracle`: what an image whose landmarks sit on the targets scores.

What each pair of the landmark benchmark (the same seeds as `bench landmarks`) could score
against its target render:

- The landmark-equivalent target (latent_space.landmark_equivalent): the second face with the
  parameters no landmark moves (params.LANDMARK_BLIND) kept from the first. Its landmarks are the
  targets exactly, and it changes nothing else: it is the face a drag pulled by the landmarks
  aims at. Its render's PSNR against the target render is what the handles cannot say; G drawing
  it adds the generator's own error. These two are the ceiling a landmark drag can expect.
- The W+ oracle: rows 0..layers-1 of the first face optimised so that the detector's landmarks
  land on the second face's (the true landmark distance as the loss, which no drag has). It finds
  landmarks within a fraction of a pixel, on faces the landmark-equivalent target beats by
  several dB: W+ holds many images with those landmarks that are not that face.

  With `--space z` the oracle optimises z instead (rows 0..layers-1 drawn from mapping(z), the
  rest kept): every such row is a w the mapping network makes, so the image stays on G's W
  manifold, but z holds the hair's shape beside the geometry and the landmarks do not hold it.
- The landmark fit (landmark_fit.py): the renderer's own geometry parameters fitted to the
  targets moved by `fit_noise` px (the error a drag's image carries anyway: the generator draws
  each landmark about half a pixel off the render's), everything else known. What the landmarks
  say about the face at that precision, with no generator and no drag in the way.
- The landmark warp (landmark_warp.py): the start render with its content moved by the smooth
  motion (a thin-plate spline) that carries its landmarks onto the targets. It is about what a
  drag that moves the start image's content, and draws nothing new, could score.

Beside them the PSNR of the start image, of the first face with the second's geometry rows
(rows 0..layers-1 of w2), and of G(z2).
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np
import torch

from nodes.metrics import psnr

from .bench import PAIR_SEEDS, load_models
from .landmark_fit import fit_geometry, jitter_landmarks, landmarks_of, mean_distance
from .landmark_warp import landmark_warp
from .latent_space import face_params, geometry_pair, landmark_equivalent, z_for_face_params
from .render import render_batch

ORACLE_SPACES = ("w+", "z")
FIT_NOISE_PX = 0.49
"""The landmark fit's default target error: `bench landmarks`'s handle_offset_px for 20 handles on
the shipped model (where G draws the start face's landmarks against the render's, mean px)."""


def oracle_pair(
    G, detector, seed: int, steps: int, lr: float, layers: int, space: str = "w+",
    fit_noise_px: float = FIT_NOISE_PX, fit_draws: int = 4,
) -> dict:  # fmt: skip
    """The figures of one pair (see the module's docstring); `space` is the oracle's ('w+' or 'z'),
    the landmark fit's targets are off by `fit_noise_px` (mean px) in each of `fit_draws` draws."""
    if space not in ORACLE_SPACES:
        raise ValueError(f"oracle space {space!r}: choose one of {', '.join(ORACLE_SPACES)}")
    z1, z2 = geometry_pair(seed)
    real1, marks1 = render_batch(params=face_params(z1))
    real2, marks2 = render_batch(params=face_params(z2))
    warped = float(psnr(landmark_warp(real1, marks1[0], marks2[0]), real2))
    real2, targets = real2.to(G.device), marks2[0].to(G.device)
    with torch.no_grad():
        ws1, ws2 = G.mapping(z1.to(G.device)), G.mapping(z2.to(G.device))
        start = float(psnr(G.synthesis(ws1).clamp(-1, 1), real2))
        own = float(psnr(G.synthesis(ws2).clamp(-1, 1), real2))
        rows = torch.cat([ws2[:, :layers], ws1[:, layers:]], 1)
        geometry_rows = float(psnr(G.synthesis(rows).clamp(-1, 1), real2))
    aimed_at = landmark_equivalent(z1, z2)
    equivalent = equivalent_figures(G, aimed_at, real2)
    fitted = fit_figures(aimed_at, real2, fit_noise_px, fit_draws, seed)
    if space == "z":
        variable = z1.to(G.device).clone().requires_grad_(True)

        def rows_of() -> torch.Tensor:
            return G.mapping(variable)[:, :layers]
    else:
        variable = torch.zeros_like(ws1[:, :layers], requires_grad=True)

        def rows_of() -> torch.Tensor:
            return ws1[:, :layers] + variable

    optimiser = torch.optim.Adam([variable], lr=lr)

    def image() -> torch.Tensor:
        return G.synthesis(torch.cat([rows_of(), ws1[:, layers:]], 1)).clamp(-1, 1)

    for _ in range(steps):
        loss = (detector(image())[0] - targets).norm(dim=-1).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        final = image()
        distance = float((detector(final)[0] - targets).norm(dim=-1).mean())
        reached = float(psnr(final, real2))
    return {"seed": seed, "start_db": start, **equivalent, **fitted, "warp_db": warped, "oracle_db": reached,
            "oracle_distance_px": distance, "geometry_rows_db": geometry_rows, "generator_db": own}  # fmt: skip


def equivalent_figures(G, params: torch.Tensor, real2: torch.Tensor) -> dict:
    """PSNR against the target render `real2` of the landmark-equivalent target's render (its
    parameters `params`, latent_space.landmark_equivalent), and of G drawing it (None where no z
    stands for them: z_for_face_params)."""
    render, _ = render_batch(params=params)
    z = z_for_face_params(params)
    drawn = None
    if z is not None:
        with torch.no_grad():
            drawn = float(psnr(G.synthesis(G.mapping(z.to(G.device))).clamp(-1, 1), real2))
    return {"equivalent_render_db": float(psnr(render.to(real2.device), real2)), "equivalent_generator_db": drawn}


def fit_figures(params: torch.Tensor, real2: torch.Tensor, noise_px: float, draws: int, seed: int) -> dict:
    """The landmark fit (landmark_fit.py) of one pair: the landmark-equivalent target's geometry
    (its parameters `params` [1, NUM_PARAMS]) fitted, from the true answer, to its landmarks moved
    by `noise_px` (mean px; a fresh draw each of `draws` times, seeded by the pair's seed), each
    fit rendered and scored against `real2`. Mean and worst PSNR over the draws, and the fitted
    landmarks' mean distance to the exact ones."""
    truth = params[0].numpy()
    targets = landmarks_of(truth)
    rng = np.random.RandomState(seed)
    scores, distances = [], []
    for _ in range(draws if noise_px > 0 else 1):
        fitted = fit_geometry(truth, jitter_landmarks(targets, noise_px, rng))
        render, _ = render_batch(params=torch.from_numpy(fitted)[None])
        scores.append(float(psnr(render.to(real2.device), real2)))
        distances.append(mean_distance(landmarks_of(fitted), targets))
    return {"fit_db": statistics.fmean(scores), "fit_worst_draw_db": min(scores),
            "fit_distance_px": statistics.fmean(distances)}  # fmt: skip


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
    parser.add_argument(
        "--space", choices=ORACLE_SPACES, default="w+", help="what the oracle optimises: W+ rows or z"
    )
    parser.add_argument(
        "--fit-noise", type=float, default=FIT_NOISE_PX,
        help="the landmark fit's target error, mean px (default: where G draws the landmarks)",
    )
    parser.add_argument("--fit-draws", type=int, default=4, help="noise draws per pair for the landmark fit")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    G, detector = load_models(None, None, args.device)
    G.requires_grad_(False)
    detector.requires_grad_(False)
    oracle = "W+" if args.space == "w+" else "Z"
    rows = []
    for i in range(args.pairs):
        seed = PAIR_SEEDS.start + args.seed * 1000 + i
        rows.append(oracle_pair(G, detector, seed, args.steps, args.lr, args.layers, args.space,
                                args.fit_noise, args.fit_draws))  # fmt: skip
        if not args.json:
            r = rows[-1]
            drawn = "no z" if r["equivalent_generator_db"] is None else f"{r['equivalent_generator_db']:.2f} dB"
            print(f"pair {i} (seed {seed}): start {r['start_db']:.2f} dB; landmark-equivalent target: render "
                  f"{r['equivalent_render_db']:.2f} dB, G {drawn}; landmark fit at {args.fit_noise:.2f} px "
                  f"{r['fit_db']:.2f} dB (worst draw {r['fit_worst_draw_db']:.2f}); landmark warp {r['warp_db']:.2f} dB; "
                  f"{oracle} oracle, landmarks on target "
                  f"({r['oracle_distance_px']:.2f} px) {r['oracle_db']:.2f} dB; w2's geometry rows "
                  f"{r['geometry_rows_db']:.2f} dB; G(z2) {r['generator_db']:.2f} dB", flush=True)  # fmt: skip
    summary = {}
    for key in rows[0]:
        values = [r[key] for r in rows if r[key] is not None]
        if key != "seed" and values:
            summary[key] = statistics.fmean(values)
            summary[f"{key}_min"] = min(values)
    if args.json:
        print(json.dumps({"pairs": rows, "summary": summary}, indent=1))
    else:
        drawn = summary.get("equivalent_generator_db")
        print(f"landmark-equivalent target: render {summary['equivalent_render_db']:.2f} dB "
              f"(worst {summary['equivalent_render_db_min']:.2f}), G "
              + ("n/a" if drawn is None else f"{drawn:.2f} dB (worst {summary['equivalent_generator_db_min']:.2f})"))
        print(f"landmark fit of the renderer's geometry, targets off by {args.fit_noise:.2f} px: "
              f"{summary['fit_db']:.2f} dB (worst pair {summary['fit_db_min']:.2f}), landmarks "
              f"{summary['fit_distance_px']:.2f} px from the exact targets")
        print(f"landmark warp of the start render: {summary['warp_db']:.2f} dB (worst {summary['warp_db_min']:.2f})")
        print(f"mean: start {summary['start_db']:.2f} dB, {oracle} oracle {summary['oracle_db']:.2f} dB "
              f"(worst {summary['oracle_db_min']:.2f}) at {summary['oracle_distance_px']:.2f} px, "
              f"geometry rows {summary['geometry_rows_db']:.2f} dB, G(z2) {summary['generator_db']:.2f} dB")  # fmt: skip
    return 0
