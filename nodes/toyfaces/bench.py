"""Benchmarks of the bundled model: `nodegraph bench toyfaces` (fidelity to the renderer) and
`nodegraph bench landmarks` (the paper's Table 1 protocol where the truth is known, SPEC §5).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from nodes.gan import Generator, load_generator
from nodes.metrics import psnr

from .bundled import DETECTOR_FILE, default_generator_path
from .latent_space import face_params, geometry_pair
from .render import LANDMARK_INDEX, NUM_LANDMARKS, render_batch
from .scores import held_out_fidelity, laplacian_energy, mixing_fidelity, w_avg_error

TOYFACES_TARGETS = {
    "psnr_db": ">= 28",
    "landmark_error_px": "<= 1.0",
    "high_frequency_ratio": ">= 0.7",
    "mixing.psnr_db": ">= 24",
    "mixing.landmark_error_px": "<= 1.5",
    "w_avg_error": "<= 5%",
}

# Seeds of the landmark benchmark's pairs: geometry_pair(seed) draws its first face from
# RandomState(seed), which for seeds < 10**6 is a training face; these never were.
PAIR_SEEDS = range(3_000_000, 4_000_000)

# Handle subsets of the landmark benchmark (the paper moves 1, 5 and all 68 face landmarks).
ONE = ("nose_tip",)
FIVE = ("eye_left_centre", "eye_right_centre", "nose_tip", "mouth_left", "mouth_right")


def load_models(checkpoint: str | None, detector: str | None, device: str):
    """The generator and the landmark detector a benchmark scores (defaults: the bundled ones)."""
    from .landmarks import load_detector

    G = load_generator(checkpoint or default_generator_path(), device=device)
    return G, load_detector(detector or DETECTOR_FILE, device=device)


@torch.no_grad()
def fidelity(G: Generator, detector, n: int = 256, batch: int = 32) -> dict:
    """The bundled model against the renderer on n held-out z (nodes.toyfaces.scores): PSNR,
    high-frequency ratio and landmark error of G(z); the same for style-mixed codes; how far
    w_avg is from the mean w; and the detector's own error on renders (the floor)."""
    figures = held_out_fidelity(G, n, batch, detector)
    figures["mixing"] = mixing_fidelity(G, n, batch, detector)
    figures["w_avg_error"] = w_avg_error(G)
    return figures


@dataclass
class PairOutcome:
    setting: str
    seed: int
    distance_before: float
    distance_after: float
    converged: bool
    # Where G draws the handles' landmarks against the handles themselves (the render's landmarks
    # of z1, where the protocol puts them), mean px: a drag that carries the content under each
    # handle exactly onto its target still leaves about this much between landmark and target.
    handle_offset: float
    psnr_vs_render: float
    psnr_vs_generator: float
    # Fine detail kept: mean |Laplacian| of the dragged image over the start image's (1 = as
    # sharp; a smear, a face blurred into its background, falls below). Unlike the PSNR it needs
    # no target face, so it tells a blurred drag from a sharp face that is not the target's.
    detail_kept: float
    steps: int
    seconds: float
    pictures: tuple | None = None  # (before, after, target) images [1, 3, H, W], for --save-pictures
    points: tuple | None = None  # (handles, targets) in pixels
    trace: list = field(default_factory=list)  # [step, distance px, tracking error px] rows
    lost: list = field(default_factory=list)  # [handle, step] of each handle the guard stopped pulling


TRACE_EVERY = 10  # steps between tracking-error samples: each costs a synthesis and a detection


def tracking_trace(G: Generator, detector, index: list[int], targets: torch.Tensor):
    """An on_step hook, its rows and its time: every TRACE_EVERY steps, the detector's landmarks
    on the image the handles were tracked on give the true distance and the tracking error."""
    rows: list[list[float]] = []
    previous: dict = {"seconds": 0.0}  # time spent here, which drag_pair leaves out of the drag's

    def on_step(state) -> None:
        if state.ws.is_cuda:  # the drag's queued kernels finish on the drag's time, not the hook's
            torch.cuda.synchronize(state.ws.device)
        start = time.perf_counter()
        # state.handles were tracked on the image of the previous step's code.
        if "ws" in previous:
            with torch.no_grad():
                truth = detector(G.synthesis(previous.pop("ws")).clamp(-1, 1)).cpu()[0, index]
            tracked = torch.tensor(state.handles, dtype=truth.dtype)
            rows.append([state.step, float((truth - targets).norm(dim=-1).mean()),
                         float((tracked - truth).norm(dim=-1).mean())])  # fmt: skip
        if state.step % TRACE_EVERY == 0:
            previous["ws"] = state.ws
        previous["seconds"] += time.perf_counter() - start

    return on_step, rows, previous


@dataclass
class PairSetup:
    """One benchmark pair before its drag: z1's code, the handles (z1's render landmarks, the
    `names` subset) and targets (z2's), and what the score compares with."""

    seed: int
    label: str
    index: list[int]
    ws1: torch.Tensor
    handles: torch.Tensor
    targets: torch.Tensor
    start_image: torch.Tensor
    before: torch.Tensor  # the detector's landmarks on G(z1)
    real2: torch.Tensor  # the target render
    fake2: torch.Tensor  # G(z2)


def setup_pair(G: Generator, detector, seed: int, names: tuple[str, ...] | None) -> PairSetup:
    """Pair `seed`'s faces, handles and targets (all landmarks when `names` is None)."""
    z1, z2 = geometry_pair(seed)
    _, marks1 = render_batch(params=face_params(z1))
    real2, marks2 = render_batch(params=face_params(z2))
    index = list(range(NUM_LANDMARKS)) if names is None else [LANDMARK_INDEX[n] for n in names]
    with torch.no_grad():
        ws1 = G.mapping(z1.to(G.device))
        ws2 = G.mapping(z2.to(G.device))
        start_image = G.synthesis(ws1).clamp(-1, 1)
        before = detector(start_image).cpu()[0, index]
        fake2 = G.synthesis(ws2).clamp(-1, 1).cpu()
    size = G.img_resolution
    return PairSetup(
        seed=seed,
        label="all" if names is None else str(len(names)),
        index=index,
        ws1=ws1,
        handles=marks1[0, index].clamp(0, size - 1),
        targets=marks2[0, index].clamp(0, size - 1),
        start_image=start_image,
        before=before,
        real2=real2,
        fake2=fake2,
    )


def score_pair(detector, pair: PairSetup, result, seconds: float, trace: list) -> PairOutcome:
    """The pair's figures after its drag `result` (a DragResult) took `seconds`."""
    with torch.no_grad():
        image = result.image().clamp(-1, 1)
        after = detector(image).cpu()[0, pair.index]
    image, start = image.cpu(), pair.start_image.cpu()
    return PairOutcome(
        setting=pair.label,
        seed=pair.seed,
        distance_before=float((pair.before - pair.targets).norm(dim=-1).mean()),
        distance_after=float((after - pair.targets).norm(dim=-1).mean()),
        converged=bool(result.converged),
        handle_offset=float((pair.before - pair.handles).norm(dim=-1).mean()),
        psnr_vs_render=float(psnr(image, pair.real2)),
        psnr_vs_generator=float(psnr(image, pair.fake2)),
        detail_kept=float(laplacian_energy(image) / laplacian_energy(start)),
        steps=int(result.steps),
        seconds=seconds,
        pictures=(start, image, pair.real2),
        points=(pair.handles.tolist(), pair.targets.tolist()),
        trace=trace,
        lost=[[e.handle, e.step] for e in result.guard_events],
    )


def drag_pair(G: Generator, detector, seed: int, names: tuple[str, ...] | None, config) -> PairOutcome:
    """Drag z1's landmarks (the `names` subset, all when None) to z2's; measure with the detector."""
    from nodes.drag import drag

    pair = setup_pair(G, detector, seed, names)
    start = time.perf_counter()
    on_step, trace, spent = tracking_trace(G, detector, pair.index, pair.targets)
    result = drag(G, pair.ws1, pair.handles.tolist(), pair.targets.tolist(), config=config, on_step=on_step)
    seconds = time.perf_counter() - start - spent["seconds"]
    return score_pair(detector, pair, result, seconds, trace)


def drag_pair_batch(
    G: Generator, detector, tasks: list[tuple[int, tuple[str, ...] | None]], config, batch: int
) -> list[PairOutcome]:
    """The pairs (seed, names) dragged together by drag_many, at most `batch` at a time; each
    pair's seconds are the batch's time shared out (its throughput, not its own latency)."""
    from nodes.drag.many import drag_many

    pairs = [setup_pair(G, detector, seed, names) for seed, names in tasks]
    hooks = [tracking_trace(G, detector, pair.index, pair.targets) for pair in pairs]
    start = time.perf_counter()
    results = drag_many(
        G,
        [pair.ws1 for pair in pairs],
        [pair.handles.tolist() for pair in pairs],
        [pair.targets.tolist() for pair in pairs],
        config=config,
        batch=batch,
        on_step=lambda i, state: hooks[i][0](state),
    )
    elapsed = time.perf_counter() - start - sum(spent["seconds"] for _, _, spent in hooks)
    seconds = elapsed / len(pairs)
    return [score_pair(detector, pair, result, seconds, trace)
            for pair, result, (_, trace, _) in zip(pairs, results, hooks)]  # fmt: skip


def save_pictures(outcome: PairOutcome, path: Path) -> None:
    """before | after | target render, with handles (red) and targets (blue) drawn, 3x size."""
    from PIL import Image, ImageDraw

    from nodes.types import image_to_uint8

    tiles = [Image.fromarray(image_to_uint8(img)) for img in outcome.pictures]
    size = tiles[0].width * 3
    sheet = Image.new("RGB", (size * 3, size))
    for i, tile in enumerate(tiles):
        sheet.paste(tile.resize((size, size), Image.NEAREST), (i * size, 0))
    pen = ImageDraw.Draw(sheet)
    handles, targets = outcome.points
    for x0 in (0, size):
        for (hx, hy), (tx, ty) in zip(handles, targets):
            pen.line([(x0 + hx * 3, hy * 3), (x0 + tx * 3, ty * 3)], fill="white")
            pen.ellipse([x0 + hx * 3 - 3, hy * 3 - 3, x0 + hx * 3 + 3, hy * 3 + 3], fill="red")
            pen.ellipse([x0 + tx * 3 - 3, ty * 3 - 3, x0 + tx * 3 + 3, ty * 3 + 3], fill="blue")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    if outcome.trace:
        save_trace_plot(outcome.trace, path.with_name(path.stem + "_trace.png"))


def save_trace_plot(trace: list, path: Path, width: int = 360, height: int = 200) -> None:
    """Distance to targets (black) and tracking error (red) in px against steps, drawn with Pillow."""
    from PIL import Image, ImageDraw

    sheet = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(sheet)
    left, bottom = 30, height - 20
    top_px = max(max(r[1], r[2]) for r in trace) or 1.0
    last_step = max(r[0] for r in trace) or 1

    def xy(step: float, px: float) -> tuple[float, float]:
        return left + (width - left - 10) * step / last_step, bottom - (bottom - 10) * px / top_px

    pen.line([(left, 10), (left, bottom), (width - 10, bottom)], fill="gray")
    pen.text((2, 4), f"{top_px:.0f}px", fill="gray")
    pen.text((width - 60, bottom + 4), f"{last_step} steps", fill="gray")
    for column, colour in ((1, "black"), (2, "red")):
        points = [xy(r[0], r[column]) for r in trace]
        if len(points) > 1:
            pen.line(points, fill=colour, width=2)
    pen.text((left + 6, 12), "distance", fill="black")
    pen.text((left + 6, 24), "tracking error", fill="red")
    sheet.save(path)


def pair_row(outcome: PairOutcome) -> dict:
    """One pair's figures for the --json report's per_pair list and its worst pair."""
    return {
        "seed": outcome.seed,
        "distance_before_px": outcome.distance_before,
        "distance_after_px": outcome.distance_after,
        "handle_offset_px": outcome.handle_offset,
        "steps": outcome.steps,
        "psnr_vs_render_db": outcome.psnr_vs_render,
        "detail_kept": outcome.detail_kept,
        "trace": outcome.trace,
        "lost_handles": outcome.lost,
    }


def summarise(outcomes: list[PairOutcome]) -> dict:
    """Per setting: means over its pairs, each pair's row, and the pair that ended farthest."""
    rows = {}
    for setting in dict.fromkeys(o.setting for o in outcomes):
        group = [o for o in outcomes if o.setting == setting]

        def mean(key: str, group: list[PairOutcome] = group) -> float:
            return sum(float(getattr(o, key)) for o in group) / len(group)

        before, after = mean("distance_before"), mean("distance_after")
        rows[setting] = {
            "pairs": len(group),
            "distance_before_px": before,
            "distance_after_px": after,
            "reduction": 1 - after / before if before > 0 else math.nan,
            "handle_offset_px": mean("handle_offset"),
            "converged": mean("converged"),
            "psnr_vs_render_db": mean("psnr_vs_render"),
            "psnr_vs_generator_db": mean("psnr_vs_generator"),
            "detail_kept": mean("detail_kept"),
            "steps": mean("steps"),
            "seconds": mean("seconds"),
            "pairs_per_second": len(group) / max(sum(o.seconds for o in group), 1e-9),
            "per_pair": [pair_row(o) for o in group],
            "worst_pair": pair_row(max(group, key=lambda o: o.distance_after)),
        }
    return rows


def bench_toyfaces(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nodegraph bench toyfaces", description="fidelity of the bundled generator to the renderer")
    parser.add_argument("--n", type=int, default=256, help="held-out latents (fixed seed range never used in training)")
    parser.add_argument("--checkpoint", help="generator (default: bundled)")
    parser.add_argument("--detector", help="landmark detector weights (default: bundled)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    G, detector = load_models(args.checkpoint, args.detector, args.device)
    figures = fidelity(G, detector, args.n)
    figures["targets"] = TOYFACES_TARGETS
    if args.json:
        print(json.dumps(figures, indent=1))
        return 0
    mix = figures["mixing"]
    print(f"held-out latents: {figures['n']}")
    print(f"PSNR of G(z) vs render:              {figures['psnr_db']:.2f} dB   (target >= 28)")
    print(f"landmark error of G(z):              {figures['landmark_error_px']:.2f} px   (target <= 1.0)")
    print(f"high-frequency ratio G(z) / render:  {figures['high_frequency_ratio']:.3f}     (target >= 0.7)")
    print(f"mixing (rows < {mix['crossover']} from z_a) PSNR:    {mix['psnr_db']:.2f} dB   (target >= 24)")
    print(f"mixing landmark error vs z_a's:      {mix['landmark_error_px']:.2f} px   (target <= 1.5)")
    print(f"|w_avg - mean w| / |mean w|:         {figures['w_avg_error']:.1%}     (target <= 5%)")
    print(f"detector error on renders (floor):   {figures['detector_error_on_renders_px']:.2f} px")
    return 0


def bench_landmarks(argv: list[str]) -> int:
    from nodes.drag import DragConfig, recommended_settings

    parser = argparse.ArgumentParser(prog="nodegraph bench landmarks", description="DragGAN's Table 1 protocol on toyfaces (SPEC §5)")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    # Empty = what a user gets: DragConfig's defaults with the checkpoint's recommendations.
    parser.add_argument("--steps", type=int, help="step budget per drag (default: DragConfig's)")
    parser.add_argument("--feature-block", type=int, help="default: DragConfig's")
    parser.add_argument("--tracking", help="default: DragConfig's")
    parser.add_argument("--method", help="drag method (docs/DRAG_METHODS.md; default: DragConfig's)")
    parser.add_argument("--lr", type=float, help="Adam lr (default: the checkpoint's recommendation, else 0.001)")
    parser.add_argument("--checkpoint")
    parser.add_argument("--detector")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--save-pictures", type=Path, help="folder for before / after / target PNGs")
    parser.add_argument("--engine", choices=("local", "ray"), help="drag the pairs on worker processes or Ray (as nodegraph batch); default: in this process")
    parser.add_argument("--workers", type=int, help="--engine: workers (default: one per core, or per Ray CPU/GPU)")
    parser.add_argument("--ray-address", help="--engine ray: the cluster (default: RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--compile", action="store_true", help="drags take F through torch.compile (CUDA graphs on CUDA; nodes.drag.compiled): in this process only, its first steps compile")
    parser.add_argument("--drags-per-batch", type=int, help="drag up to this many pairs of a handle set at once, one batched optimisation (drag_many); default: 32 on CUDA, else 1 (on the CPU one at a time is faster: cropped synthesis)")
    args = parser.parse_args(argv)
    batch = args.drags_per_batch or (32 if args.device.startswith("cuda") else 1)
    if batch < 1:
        parser.error(f"--drags-per-batch must be at least 1, got {batch}")
    if batch > 1 and args.engine is not None:
        parser.error("--drags-per-batch batches the drags in this process; leave out --engine (or pass --drags-per-batch 1)")
    if args.compile and args.engine is not None:
        parser.error("--compile compiles the drags of this process; leave out --engine")
    G, detector = load_models(args.checkpoint, args.detector, args.device)
    if args.compile:
        from nodes.drag.compiled import compile_features

        compile_features(G)
    chosen = {"method": args.method, "steps": args.steps, "feature_block": args.feature_block, "tracking": args.tracking, "lr": args.lr}
    config = DragConfig(**{k: v for k, v in chosen.items() if v is not None})
    resolved = config.resolve(G.img_resolution, len(G.block_resolutions), G.num_ws, recommended_settings(G))
    from .landmark_jobs import drag_pairs, pair_tasks

    outcomes = drag_pairs(pair_tasks(args.pairs, args.seed), args.checkpoint, args.detector, args.device, config,
                          args.save_pictures, args.engine, args.workers, args.ray_address, loaded=(G, detector), batch=batch)  # fmt: skip
    rows = summarise(outcomes)
    report = {"config": asdict(resolved), "resolution": G.img_resolution, "drags_per_batch": batch, "settings": rows,
              "targets": {"1": "<= 2 px", "5": "<= 2 px", "all": "<= 3 px", "reduction": ">= 80%"}}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"drag settings (a user's defaults): method {resolved.method}, lr {resolved.lr:g}, {resolved.steps} steps, r1 {resolved.r1:g}, r2 {resolved.r2}, stop {resolved.stop_px:g} px")
        print(f"drags per batch: {batch}" + (" (seconds: the batch's time per pair)" if batch > 1 else ""))
        print(f"{'handles':>8} {'pairs':>5} {'MD before':>10} {'MD after':>9} {'reduction':>9} {'offset':>6} {'converged':>9} {'PSNR/render':>11} {'PSNR/G(z2)':>10} {'detail':>6} {'steps':>6} {'seconds':>7} {'pairs/s':>7}")
        for setting, r in rows.items():
            print(f"{setting:>8} {r['pairs']:>5} {r['distance_before_px']:>10.2f} {r['distance_after_px']:>9.2f} {r['reduction']:>9.0%} {r['handle_offset_px']:>6.2f} {r['converged']:>9.0%} {r['psnr_vs_render_db']:>11.2f} {r['psnr_vs_generator_db']:>10.2f} {r['detail_kept']:>6.2f} {r['steps']:>6.0f} {r['seconds']:>7.1f} {r['pairs_per_second']:>7.2f}")
        print("offset: where G draws the handles' landmarks against the handles (the render's), mean px; "
              "a drag that carries the content under each handle exactly onto its target leaves about this; "
              "detail: mean |Laplacian| after over before (1 = as sharp, lower = smeared)")
        for setting, r in rows.items():
            w = r["worst_pair"]
            print(f"worst {setting}: seed {w['seed']}, {w['distance_before_px']:.2f} -> {w['distance_after_px']:.2f} px in {w['steps']} steps, PSNR/render {w['psnr_vs_render_db']:.2f} dB, detail kept {w['detail_kept']:.2f}")
    return 0
