"""Golden StyleGAN3 fixtures: tiny T and R checkpoints and what our generator computes from them.

Made by our code (`python -m tests.gan.stylegan3_golden`) after the generator matched NVIDIA's
stylegan3 code on converted pickles (32-64 px T and R: ws exact, images within 3e-6, the layer-5
feature within 2e-6); the tests pin that behaviour so a change to the numerics shows up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).parent / "data"
VARIANTS = ("T", "R")
SEED = 3  # z = RandomState(SEED).randn, as the official tools draw it
PSI = 0.7
TRANSFORM = (0.1, -0.05, 10.8)  # translate x, y (image widths), rotate (degrees)


def checkpoint_path(variant: str) -> Path:
    return DATA / f"stylegan3_{variant}16.safetensors"


def expected_path(variant: str) -> Path:
    return DATA / f"stylegan3_{variant}16.expected.safetensors"


@torch.no_grad()
def outputs(G) -> dict[str, torch.Tensor]:
    """ws of SEED, its image, its layer-5 feature (every 3rd sample) and the image under TRANSFORM."""
    z = torch.from_numpy(np.random.RandomState(SEED).randn(1, G.z_dim)).float()
    ws = G.mapping(z, truncation_psi=PSI)
    image, features = G.synthesis(ws, return_features=True)
    transformed = G.set_input_transform(*TRANSFORM).synthesis(ws)
    G.set_input_transform()
    return {
        "ws": ws,
        "image": image,
        "feature5": features[5][:, :, ::3, ::3].contiguous(),
        "image_transformed": transformed,
    }


def main() -> None:
    from safetensors.torch import save_file

    from nodes.gan import load_generator, save_generator
    from tests.tiny import make_tiny_stylegan3

    DATA.mkdir(exist_ok=True)
    for variant in VARIANTS:
        G = make_tiny_stylegan3(variant, seed=1)
        # float16 storage keeps the files small; the expected values come from the loaded copy.
        path = save_generator(G, checkpoint_path(variant), dtype=torch.float16)
        save_file(outputs(load_generator(path)), str(expected_path(variant)))
        print(f"wrote {path} and {expected_path(variant)}")


if __name__ == "__main__":
    main()
