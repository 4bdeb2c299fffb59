"""Landmark detector for toyfaces images: a small CNN trained on renders (issue 7).

Heatmaps at half resolution read out by soft-argmax (integral regression), so the output is
sub-pixel and in the renderer's landmark convention: (x, y) is the centre of column x, row y.
`python -m nodes.toyfaces.landmarks --train --out nodes/toyfaces/weights/landmarks.safetensors`
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .bundled import DETECTOR_FILE
from .params import NUM_PARAMS, sample_z
from .render import LANDMARK_NAMES, NUM_LANDMARKS, render_batch

HELD_OUT_SEED = 2_000_003  # the held-out renders; training draws from other seeds


@dataclass
class DetectorConfig:
    """Widths of the encoder levels (64, 32, 16, 8 px for a 128 px input) and the input size."""

    widths: tuple[int, ...] = (16, 32, 64, 128)
    image_size: int = 128
    num_landmarks: int = NUM_LANDMARKS


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class LandmarkDetector(nn.Module):
    """Image [N, 3, S, S] in [-1, 1] -> landmarks [N, K, 2] in pixels (pixel-centre convention).

    A small U-Net: four stride-2 levels down to S/16 for context (which eye is the left one),
    back up to S/2 for precision, one heatmap per landmark, soft-argmax to coordinates.
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        super().__init__()
        self.config = config or DetectorConfig()
        w = self.config.widths
        self.down = nn.ModuleList(
            [
                nn.Sequential(_conv(3 if i == 0 else w[i - 1], w[i], 2), _conv(w[i], w[i]))
                for i in range(len(w))
            ]
        )
        self.bottom = _conv(w[-1], w[-1])
        self.lateral = nn.ModuleList([nn.Conv2d(w[i + 1], w[i], 1) for i in range(len(w) - 1)])
        self.up = nn.ModuleList([_conv(w[i], w[i]) for i in range(len(w) - 1)])
        self.heatmap = nn.Conv2d(w[0], self.config.num_landmarks, 1)

    def heatmaps(self, image: torch.Tensor) -> torch.Tensor:
        skips, x = [], image
        for level in self.down:
            x = level(x)
            skips.append(x)
        x = self.bottom(x)
        for i in reversed(range(len(self.lateral))):
            x = F.interpolate(
                self.lateral[i](x), scale_factor=2.0, mode="bilinear", align_corners=False
            )
            x = self.up[i](x + skips[i])
        return self.heatmap(x)  # [N, K, S/2, S/2] logits

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.heatmaps(image)
        n, k, h, w = logits.shape
        prob = logits.flatten(2).softmax(-1).view(n, k, h, w)
        # Cell j covers image pixels [j * s, (j + 1) * s): centre at (j + 0.5) * s in the
        # continuous frame, i.e. (j + 0.5) * s - 0.5 in pixel-centre coordinates.
        scale = image.shape[-1] / w
        xs = (torch.arange(w, dtype=prob.dtype, device=prob.device) + 0.5) * scale - 0.5
        ys = (torch.arange(h, dtype=prob.dtype, device=prob.device) + 0.5) * scale - 0.5
        x = (prob.sum(2) * xs).sum(-1)
        y = (prob.sum(3) * ys).sum(-1)
        return torch.stack([x, y], dim=-1)


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Light blur, contrast/brightness jitter and noise, so the detector also reads G(z)."""
    n = images.shape[0]
    sigma = torch.rand(n, generator=generator) * 0.9 + 1e-3
    taps = torch.arange(-2, 3, dtype=images.dtype)
    kernel = torch.exp(-(taps[None] ** 2) / (2 * sigma[:, None] ** 2))
    kernel = kernel / kernel.sum(1, keepdim=True)  # [N, 5]
    c = images.shape[1]
    x = images.reshape(1, n * c, *images.shape[2:])
    kx = kernel.repeat_interleave(c, 0)[:, None, None, :]
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), kx, groups=n * c)
    x = F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), kx.transpose(2, 3), groups=n * c)
    x = x.reshape_as(images)
    gain = 1 + 0.1 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    bias = 0.1 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    noise = (
        torch.randn(x.shape, generator=generator)
        * torch.rand(n, 1, 1, 1, generator=generator)
        * 0.04
    )
    return (x * gain + bias + noise).clamp(-1, 1)


@torch.no_grad()
def held_out_error(detector: LandmarkDetector, n: int = 256, batch: int = 64) -> float:
    """Mean Euclidean error in pixels on n clean held-out renders."""
    detector.eval()
    z = sample_z(n, NUM_PARAMS, HELD_OUT_SEED)
    errors = []
    for i in range(0, n, batch):
        images, truth = render_batch(z[i : i + batch])
        errors.append((detector(images) - truth).norm(dim=-1).flatten())
    return float(torch.cat(errors).mean())


def train(
    out: Path,
    minutes: float = 25.0,
    batch: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    init: Path | None = None,
) -> float:
    """Train for a wall-clock budget on one thread (cosine lr over the budget); save; return error.
    `init` continues from saved weights (a later session refining the shipped detector)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    detector = load_detector(init).train() if init is not None else LandmarkDetector()
    opt = torch.optim.AdamW(detector.parameters(), lr=lr, weight_decay=1e-4)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    start, step, budget = time.time(), 0, minutes * 60
    while (elapsed := time.time() - start) < budget:
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
        detector.train()
        images, truth = render_batch(sample_z(batch, NUM_PARAMS, rng))
        loss = (detector(augment(images, gen)) - truth).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 200 == 0:
            print(f"step {step} loss {loss.item():.3f} px  {elapsed / 60:.1f} min", flush=True)
    error = held_out_error(detector)
    print(f"held-out mean error {error:.3f} px after {step} steps", flush=True)
    save_detector(
        detector,
        out,
        {"steps": step, "minutes": minutes, "batch": batch, "lr": lr, "held_out_error_px": error},
    )
    return error


def save_detector(detector: LandmarkDetector, path: Path, record: dict) -> None:
    from safetensors.torch import save

    from nodegraph.atomic import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in detector.state_dict().items()}
    metadata = {
        "config": json.dumps(asdict(detector.config)),
        "landmark_names": json.dumps(LANDMARK_NAMES),
        "training": json.dumps(record),
    }
    atomic_write(path, save(state, metadata=metadata))


def load_detector(
    path: str | Path | None = None, device: str | torch.device = "cpu"
) -> LandmarkDetector:
    """The trained detector (the bundled weights by default), in eval mode."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path) if path is not None else DETECTOR_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"landmark detector weights {path} are missing: train them with "
            "`python -m nodes.toyfaces.landmarks --train --out nodes/toyfaces/weights/landmarks.safetensors`"
        )
    with safe_open(str(path), framework="pt") as f:
        config = json.loads(f.metadata()["config"])
    detector = LandmarkDetector(DetectorConfig(**{**config, "widths": tuple(config["widths"])}))
    detector.load_state_dict(load_file(str(path)))
    return detector.eval().to(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodes.toyfaces.landmarks", description=__doc__)
    parser.add_argument("--train", action="store_true", help="train a detector on fresh renders")
    parser.add_argument("--out", type=Path, default=DETECTOR_FILE)
    parser.add_argument("--minutes", type=float, default=25.0, help="wall-clock training budget")
    parser.add_argument("--init", type=Path, default=None, help="continue from these weights")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (cosine decay)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training renders")
    parser.add_argument(
        "--eval", type=Path, default=None, help="print the held-out error of weights"
    )
    args = parser.parse_args(argv)
    if args.train:
        train(args.out, args.minutes, lr=args.lr, seed=args.seed, init=args.init)
    if args.eval is not None:
        torch.set_num_threads(1)
        print(f"held-out mean error {held_out_error(load_detector(args.eval)):.3f} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
