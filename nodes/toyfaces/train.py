"""Train the bundled toyfaces generator: our StyleGAN2 regressed onto the procedural renderer.

G(z) ~ render(params(z)), supervised (no discriminator): L2 at three scales + edge L1, weighted
up around the landmarks (see reconstruction_loss, feature_weights), Adam, noise held at zero;
optionally (`landmark_weight`) plus the frozen landmark detector's error on G(z), which pulls
the geometry the pixels hardly weigh: the step-37,879 model drew every nose at about the same
length (its nose-tip error correlated -0.94 with `nose_length`). `landmark_focus` weights one
landmark's share of that term: with the nose tip at 20x, raw G's nose-tip error fell from 1.44
to 0.84 px in 800 CPU steps, where the plain term had moved it 0.05 px in 5,200.
Style mixing (`mixing_prob`): a share of each batch takes W+ rows [0, 6) from one z and the rest
from another, against the render of the first face's geometry with the second's colours, so the
rows DragGAN optimises carry geometry only and a W+ drag stays on the learned manifold.
`mapping.w_avg` tracks the mean w (StyleGAN's w_avg_beta 0.995), so truncation pulls towards it.
The checkpoint keeps StyleGAN's mapping lr multiplier 0.01 (its weights are stored scaled by
1/0.01), but the optimiser gives the mapping a larger lr to make up for it
(`mapping_lr_scale`): with the multiplier's own 100x slower mapping the generator learned
colours and almost no geometry in 7,500 steps; 32 px runs of 5 minutes reached 16.6 dB with
it and 20.1 dB with the mapping at full lr. Resumable:
`python -m nodes.toyfaces.train --out runs/toyfaces` picks up its last checkpoint.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from nodegraph.atomic import atomic_file, atomic_write
from nodes.drag.config import RECOMMENDATIONS_KEY
from nodes.gan import Generator, GeneratorConfig, save_generator

from .bundled import DETECTOR_FILE, GENERATOR_FILE
from .latent_space import Z_DIM, face_params, mix_ws, mixed_face_params, z_for_seeds
from .render import LANDMARK_INDEX, NUM_LANDMARKS, render_batch
from .scores import MIX_CROSSOVER, held_out_fidelity, mean_w, mixing_fidelity

PIXEL_LOSSES = ("l1", "l2")

# The drag settings this model recommends (checkpoint metadata, SPEC §5): a DragOptimizer field
# left empty takes them. Chosen with `nodegraph bench landmarks` (docs/landmarks/README.md has
# the settings tried and their figures); the official defaults (lr 1e-3, r1 1, r2 3, stop 2 px
# at 128 px) moved the faint nose and mouth corners of this small model too little: tracking
# slid across the smooth skin and reported handles arrived that had not. The stop is 0.5 px
# because tracking on the soft nose runs ahead of it: at 1 px one handle stopped 1.7 px short
# of its target on average (step 50,989), at 0.5 px 1.4 px. The lr is 0.03 since the multiscale
# method: at 0.02 its 5- and 20-handle drags were still closing in at step 300 (held-out pairs:
# 1.08 -> 0.97 px for 5 handles, 1.17 -> 1.10 px for 20, one handle unchanged).
DRAG_DEFAULTS = {"lr": 0.03, "r1": 3.0, "r2": 3, "stop_px": 0.5}


@dataclass
class TrainConfig:
    resolution: int = 128
    w_dim: int = 128
    channel_base: int = 3072
    channel_max: int = 96
    mapping_layers: int = 4
    batch: int = 16
    lr: float = 5e-3
    mapping_lr_scale: float = 1.0  # the mapping's effective lr over `lr` (StyleGAN's own: 0.01)
    pixel_loss: str = "l2"  # or "l1" (see reconstruction_loss)
    landmark_weight: float = 0.0  # weight of |detector(G(z)) - landmarks| (px), frozen detector
    landmark_focus: str = ""  # e.g. "nose_tip=20": that landmark's error counts 20x in the above
    feature_gain: float = 5.0  # extra loss weight on the facial features (see feature_weights)
    ema: float = 0.998  # G_ema = ema * G_ema + (1 - ema) * G after each step; G_ema is shipped
    mixing_prob: float = 0.5  # share of each batch trained on style-mixed codes (see make_batch)
    crossover: int = MIX_CROSSOVER  # first W+ row of the second code in a mixed sample
    w_avg_beta: float = 0.995  # w_avg = lerp(mean w of the batch, w_avg, beta), as StyleGAN
    device: str = "cpu"  # where G trains; the renderer always runs on the CPU
    render_workers: int = 0  # processes rendering batches ahead (0 = render in this process)
    steps: int = 40000
    eval_every: int = 250
    checkpoint_every: int = 100
    threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        landmark_focus_weights(self.landmark_focus)  # a bad spec fails here, not at the first step


def model_config(cfg: TrainConfig) -> GeneratorConfig:
    return GeneratorConfig(
        z_dim=Z_DIM,
        w_dim=cfg.w_dim,
        img_resolution=cfg.resolution,
        mapping_layers=cfg.mapping_layers,
        channel_base=cfg.channel_base,
        channel_max=cfg.channel_max,
        conv_clamp=256,
        num_fp16_res=0,
        source="nodegraph toyfaces: StyleGAN2 regressed onto nodes.toyfaces.render",
    )


def feature_weights(landmarks: torch.Tensor, size: int, gain: float, sigma: float = 4.0) -> torch.Tensor:
    """Per-pixel loss weights [N, 1, size, size]: 1 everywhere plus `gain` times a Gaussian bump
    (sigma in 128-px pixels) on every landmark ([N, K, 2], pixels of the `size` image). Eyes,
    brows, nose and mouth are a few per cent of the pixels; unweighted, the generator got the
    colours right long before it drew any."""
    sigma = sigma * size / 128
    grid = torch.arange(size, dtype=torch.float32, device=landmarks.device) + 0.5
    dx = grid.view(1, 1, 1, size) - landmarks[..., 0, None, None]  # [N, K, 1, size]
    dy = grid.view(1, 1, size, 1) - landmarks[..., 1, None, None]  # [N, K, size, 1]
    bumps = torch.exp(-(dx.square() + dy.square()) / (2 * sigma**2)).amax(dim=1, keepdim=True)
    return 1 + gain * bumps


def reconstruction_loss(
    fake: torch.Tensor, real: torch.Tensor, weight: torch.Tensor | None = None, pixel: str = "l2"
) -> torch.Tensor:
    """Pixel error at full, half and quarter resolution, plus L1 between image gradients (edges);
    the full-resolution terms weighted per pixel by `weight` [N, 1, H, W] when given.

    `pixel` 'l1' or 'l2' (scaled by 5: the same pull as L1 at an error of 0.1). L1's optimum
    where the generator is unsure is the median, and a feature present in under half of the
    faces a blurry code could be is absent from it: with L1 a 9,000-step model drew no eyes or
    mouth at all. L2's is the mean, a faint feature that sharpens as the code does."""

    if pixel not in PIXEL_LOSSES:
        raise ValueError(f"pixel loss must be one of {PIXEL_LOSSES}, got {pixel!r}")

    def error(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return (f - r).abs() if pixel == "l1" else 5 * (f - r).square()

    weight = torch.ones_like(real[:, :1]) if weight is None else weight
    loss = (error(fake, real) * weight).mean()
    f, r = fake, real
    for _ in range(2):
        f, r = F.avg_pool2d(f, 2), F.avg_pool2d(r, 2)
        loss = loss + error(f, r).mean()
    loss = loss + ((fake.diff(dim=2) - real.diff(dim=2)).abs() * weight[:, :, 1:]).mean()
    loss = loss + ((fake.diff(dim=3) - real.diff(dim=3)).abs() * weight[..., 1:]).mean()
    return loss


@dataclass
class Batch:
    """One step's inputs, a function of the step number alone (so batches can be rendered
    ahead in other processes): z, the fine-row partners z_fine, which samples are mixed, and
    the renders [N, 3, H, W] with their landmarks [N, K, 2]."""

    z: torch.Tensor
    z_fine: torch.Tensor
    mixed: torch.Tensor
    real: torch.Tensor
    landmarks: torch.Tensor


def make_batch(cfg: TrainConfig, step: int) -> Batch:
    """Seeds drawn from the step number (resumable); a `mixing_prob` share of the samples
    style-mixed with a second z, their target the mixed face (`mixed_face_params`)."""
    seeds = [(cfg.seed * 7919 + step * cfg.batch + i) % 1_000_000 for i in range(cfg.batch)]
    z = z_for_seeds(seeds)
    z_fine = z_for_seeds([(s + 500_000) % 1_000_000 for s in seeds])
    mixed = torch.rand(cfg.batch, generator=torch.Generator().manual_seed(cfg.seed + step)) < cfg.mixing_prob
    params = torch.where(mixed[:, None], mixed_face_params(z, z_fine), face_params(z))
    real, landmarks = render_batch(params=params, size=cfg.resolution)
    return Batch(z, z_fine, mixed, real, landmarks)


def batch_loss(G: Generator, cfg: TrainConfig, batch: Batch) -> torch.Tensor:
    """The reconstruction loss of one batch on G's device; updates w_avg from the batch."""
    device = G.device
    ws = G.mapping(batch.z.to(device))
    track_w_avg(G, ws[:, 0], cfg.w_avg_beta)
    if bool(batch.mixed.any()):
        mixed_ws = mix_ws(ws, G.mapping(batch.z_fine.to(device)), cfg.crossover)
        ws = torch.where(batch.mixed.to(device)[:, None, None], mixed_ws, ws)
    real, landmarks = batch.real.to(device), batch.landmarks.to(device)
    weight = feature_weights(landmarks, cfg.resolution, cfg.feature_gain)
    fake = G.synthesis(ws, noise_mode="none")
    loss = reconstruction_loss(fake, real, weight, cfg.pixel_loss)
    if cfg.landmark_weight > 0:
        found = _frozen_detector(str(device))(fake)
        focus = landmark_focus_weights(cfg.landmark_focus).to(device)
        loss = loss + cfg.landmark_weight * ((found - landmarks).norm(dim=-1) * focus).mean()
    return loss


@functools.lru_cache(maxsize=8)
def landmark_focus_weights(spec: str) -> torch.Tensor:
    """Per-landmark weights [NUM_LANDMARKS] of the landmark term from "name=weight,..." (the
    others 1). The step-45,200 model matched the renderer's landmarks to the detector's own
    floor everywhere but the nose tip (1.44 px on G(z), 0.44 on renders): its share of a plain
    mean is 1/20, too small a pull to teach the mapping the nose length."""
    weights = torch.ones(NUM_LANDMARKS)
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition("=")
        if name not in LANDMARK_INDEX:
            raise ValueError(f"--landmark-focus: unknown landmark {name!r}; known: {', '.join(LANDMARK_INDEX)}")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"--landmark-focus: {item!r} is not name=weight (e.g. nose_tip=20)") from None
        if not weight >= 0:
            raise ValueError(f"--landmark-focus: the weight of {name} must be >= 0, got {value}")
        weights[LANDMARK_INDEX[name]] = weight
    return weights  # cached: batch_loss asks every step; callers must not modify it


_DETECTORS: dict = {}


def _frozen_detector(device: str):
    """The bundled landmark detector, loaded once per device, weights frozen."""
    if device not in _DETECTORS:
        from .landmarks import load_detector

        _DETECTORS[device] = load_detector(DETECTOR_FILE, device=device).requires_grad_(False).eval()
    return _DETECTORS[device]


def batches(cfg: TrainConfig, first_step: int):
    """The batches of steps first_step, first_step + 1, ...; with `render_workers` > 0 they are
    rendered ahead by that many processes (the renderer is numpy, one core each), at most
    2 x render_workers batches in flight."""
    if cfg.render_workers <= 0:
        for step in range(first_step, cfg.steps):
            yield make_batch(cfg, step)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(cfg.render_workers, mp_context=context, initializer=_render_worker_init) as pool:
        ahead: deque = deque()
        next_step = first_step
        while ahead or next_step < cfg.steps:
            while next_step < cfg.steps and len(ahead) < 2 * cfg.render_workers:
                ahead.append(pool.submit(make_batch, cfg, next_step))
                next_step += 1
            yield ahead.popleft().result()


def _render_worker_init() -> None:
    torch.set_num_threads(1)


@torch.no_grad()
def track_w_avg(G: Generator, w: torch.Tensor, beta: float) -> None:
    """StyleGAN's running mean of w: truncation (psi < 1) pulls codes towards it."""
    G.mapping.w_avg.copy_(w.detach().mean(0).lerp(G.mapping.w_avg, beta))


def evaluate(G_ema: Generator, G: Generator, step: int, loss: float) -> dict:
    """One log entry: held-out PSNR and sharpness of G_ema (and raw G's PSNR), mixing PSNR."""
    fidelity = held_out_fidelity(G_ema)
    return {
        "step": step,
        "loss": loss,
        "held_out_psnr": fidelity["psnr_db"],
        "held_out_psnr_raw": held_out_fidelity(G)["psnr_db"],
        "high_frequency_ratio": fidelity["high_frequency_ratio"],
        "mixing_psnr": mixing_fidelity(G_ema)["psnr_db"],
    }


def train(cfg: TrainConfig, out: Path, max_minutes: float | None = None) -> Path:
    torch.set_num_threads(cfg.threads)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "state.pt"
    G = Generator(model_config(cfg)).to(cfg.device)
    for name, p in G.named_parameters():
        p.requires_grad_(not name.endswith("noise_strength"))  # noise held at zero
    opt = make_optimizer(G, cfg)
    G_ema = copy.deepcopy(G).requires_grad_(False)
    step, log = 0, []
    if state_path.exists():
        state = torch.load(state_path, weights_only=True, map_location=cfg.device)
        G.load_state_dict(state["G"])
        G_ema.load_state_dict(state.get("G_ema", state["G"]))
        if len(state["opt"]["param_groups"]) == len(opt.param_groups):
            opt.load_state_dict(state["opt"])
        else:
            print("optimizer layout changed since the checkpoint: Adam starts afresh")
        for group, lr in zip(opt.param_groups, group_lrs(G, cfg)):
            group["lr"] = lr  # the command line wins over the saved schedule
        step, log = state["step"], json.loads(state["log"])
        print(f"resumed from {state_path} at step {step}")
    if not bool(G.mapping.w_avg.any()):
        # Weights trained before w_avg was tracked: start it at the true mean, not at zero.
        G.mapping.w_avg.copy_(mean_w(G))
        G_ema.mapping.w_avg.copy_(G.mapping.w_avg)
    start = time.time()
    loss = torch.tensor(math.nan)  # when there is no step left to take
    for batch in batches(cfg, step):
        loss = batch_loss(G, cfg, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        update_ema(G_ema, G, cfg.ema)
        step += 1
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f} {(time.time() - start) / 60:.1f} min", flush=True)
        if step % cfg.eval_every == 0:
            entry = evaluate(G_ema, G, step, loss.item())
            log.append(entry)
            print(
                f"step {step} held-out PSNR {entry['held_out_psnr']:.2f} dB (G_ema; raw G "
                f"{entry['held_out_psnr_raw']:.2f} dB), high-frequency ratio "
                f"{entry['high_frequency_ratio']:.3f}, mixing PSNR {entry['mixing_psnr']:.2f} dB",
                flush=True,
            )
            export(G_ema, cfg, step, log, out / "toyfaces128.safetensors")
        done = max_minutes is not None and (time.time() - start) / 60 > max_minutes
        if step % cfg.checkpoint_every == 0 or step == cfg.steps or done:
            _checkpoint(G, G_ema, opt, step, log, cfg, state_path)
        if done:
            break
    if not log or log[-1]["step"] != step:
        log.append(evaluate(G_ema, G, step, loss.item()))  # the shipped scores are the final ones
        _checkpoint(G, G_ema, opt, step, log, cfg, state_path)
    return export(G_ema, cfg, step, log, out / "toyfaces128.safetensors")


def group_lrs(G: Generator, cfg: TrainConfig) -> tuple[float, float]:
    """Adam lr of the mapping's stored weights and of everything else."""
    return cfg.lr * cfg.mapping_lr_scale / G.config.mapping_lr_multiplier, cfg.lr


def make_optimizer(G: Generator, cfg: TrainConfig) -> torch.optim.Adam:
    """Adam with two groups: the mapping network, and the synthesis (noise strengths frozen).

    Adam's step does not depend on the gradient's scale, so a weight stored as w / m (the
    equalised-lr multiplier m) moves m times slower than the same lr moves w; the mapping
    group's lr undoes that by `mapping_lr_scale / m`."""
    mapping = [p for name, p in G.named_parameters() if name.startswith("mapping.") and p.requires_grad]
    synthesis = [p for name, p in G.named_parameters() if not name.startswith("mapping.") and p.requires_grad]
    mapping_lr, synthesis_lr = group_lrs(G, cfg)
    groups = [{"params": mapping, "lr": mapping_lr}, {"params": synthesis, "lr": synthesis_lr}]
    return torch.optim.Adam(groups, betas=(0.9, 0.99), eps=1e-8)


@torch.no_grad()
def update_ema(G_ema: Generator, G: Generator, beta: float) -> None:
    """Exponential moving average of the weights (StyleGAN's G_ema): smoother, sharper output."""
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.lerp_(p, 1 - beta)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)


def _checkpoint(G, G_ema, opt, step, log, cfg, state_path: Path) -> None:
    """The training state, written atomically: a kill mid-save keeps the previous state."""
    state = {"G": G.state_dict(), "G_ema": G_ema.state_dict(), "opt": opt.state_dict(), "step": step}
    with atomic_file(state_path) as f:
        torch.save({**state, "log": json.dumps(log), "cfg": json.dumps(asdict(cfg))}, f)


def export(G: Generator, cfg: TrainConfig, step: int, log: list, path: Path) -> Path:
    """Save in our checkpoint format (float16 storage) with the settings and scores recorded."""
    last = log[-1] if log else {}
    G.config.extra = {
        "train_settings": asdict(cfg),
        "train_steps": step,
        "held_out_psnr": last.get("held_out_psnr", math.nan),
        "high_frequency_ratio": last.get("high_frequency_ratio", math.nan),
        "mixing_psnr": last.get("mixing_psnr", math.nan),
        RECOMMENDATIONS_KEY: dict(DRAG_DEFAULTS),
    }
    return save_generator(G, path, dtype=torch.float16)


def stamp_drag_defaults(path: Path) -> Path:
    """Rewrite a checkpoint's recommended drag settings (`DRAG_DEFAULTS`), weights untouched
    (float16 storage round-trips exactly), so changing a recommendation needs no retraining."""
    from nodes.gan import load_generator

    G = load_generator(path)
    G.config.extra = {**(G.config.extra or {}), RECOMMENDATIONS_KEY: dict(DRAG_DEFAULTS)}
    return save_generator(G, path, dtype=torch.float16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodes.toyfaces.train", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/toyfaces"))
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (and checkpoint) after this long")
    parser.add_argument("--install", action="store_true", help="copy the result into the package (the bundled weights)")
    parser.add_argument("--stamp-drag-defaults", type=Path, metavar="CKPT",
                        help="only rewrite CKPT's recommended drag settings (DRAG_DEFAULTS) and exit")
    for name, value in asdict(TrainConfig()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    if args.stamp_drag_defaults:
        print(f"wrote {stamp_drag_defaults(args.stamp_drag_defaults)}: drag defaults {DRAG_DEFAULTS}")
        return 0
    try:
        cfg = TrainConfig(**{k: getattr(args, k) for k in asdict(TrainConfig())})
    except ValueError as e:
        parser.error(str(e))
    path = train(cfg, args.out, args.max_minutes)
    print(f"wrote {path}")
    if args.install:
        atomic_write(GENERATOR_FILE, path.read_bytes())
        print(f"installed as the bundled model: {GENERATOR_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
