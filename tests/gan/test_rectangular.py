"""Rectangular (StyleGAN-Human style) generators: maps r x r/2 at every block, padded to a square
as the official DragGAN does (white image, zero features), so drag and inversion work unchanged."""

from __future__ import annotations

import torch

from nodes.drag import DragConfig, drag
from nodes.invert import invert
from tests.tiny import make_tiny_generator


def _rect(resolution: int = 32):
    return make_tiny_generator(resolution, seed=1, width_divisor=2)


def test_a_rectangular_generator_draws_its_half_width_content_padded_white_to_a_square():
    G = _rect()
    assert G.synthesis.b4.const.shape[-2:] == (4, 2)
    with torch.no_grad():
        image = G.synthesis(G.random_ws(0))
    assert image.shape == (1, 3, 32, 32)
    assert torch.all(image[..., :8] == 1) and torch.all(image[..., 24:] == 1)
    content = image[..., 8:24]
    assert content.std() > 0.01 and not torch.all(content == 1)


def test_a_drag_on_a_rectangular_generator_moves_the_handle_towards_its_target():
    G = _rect()
    ws = G.random_ws(0)
    handle, target = (14.0, 16.0), (19.0, 16.0)  # (x, y) inside the content columns 8..24
    result = drag(G, ws, [handle], [target], config=DragConfig(steps=30, lr=0.03, r1=2, r2=3))
    start = result.history[0].distances[0]
    (x, y), = result.handles
    assert ((x - target[0]) ** 2 + (y - target[1]) ** 2) ** 0.5 < start - 1


def test_inverting_an_image_a_rectangular_generator_made_raises_psnr():
    G = _rect(16)
    with torch.no_grad():
        image = G.synthesis(G.random_ws(3, truncation_psi=0.7)).clamp(-1, 1)
    result = invert(G, image, steps=40, space="w+", lr=0.1)
    assert result.pivot_psnr > result.history[0].psnr + 5
    assert result.image().shape == image.shape


def test_a_stylegan_human_style_pickle_converts_by_its_shapes_to_the_same_images(tmp_path):
    from nodes.gan import load_generator
    from nodes.gan.convert import convert
    from tests.gan.nvidia_pickle import network_pickle_bytes

    G = _rect()
    pkl = tmp_path / "human.pkl"
    pkl.write_bytes(network_pickle_bytes(G, str(tmp_path / "pwned")))
    converted = load_generator(convert(pkl, tmp_path / "human.safetensors"))
    assert converted.config.width_divisor == 2 and not (tmp_path / "pwned").exists()
    with torch.no_grad():
        ws = G.random_ws(5)
        assert torch.equal(converted.synthesis(ws), G.synthesis(ws))
