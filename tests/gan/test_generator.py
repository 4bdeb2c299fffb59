"""The StyleGAN2 generator: shapes, num_ws, noise modes, truncation, block features (SPEC §3)."""

from __future__ import annotations

import pytest
import torch

from nodes.gan import Generator, GeneratorConfig
from tests.tiny import make_tiny_generator


def _z(G: Generator, n: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn([n, G.z_dim], generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("resolution", "overrides", "num_ws"),
    [
        (32, {}, 8),
        (64, {}, 10),
        (128, {"channel_base": 1024, "channel_max": 16}, 12),
        (32, {"conv_clamp": None}, 8),
        (32, {"img_channels": 1}, 8),
    ],
)
def test_image_shape_and_num_ws(resolution, overrides, num_ws):
    G = make_tiny_generator(resolution, **overrides)
    assert G.num_ws == num_ws == 2 * len(G.block_resolutions)
    ws = G.mapping(_z(G))
    assert ws.shape == (2, num_ws, G.w_dim)
    img = G.synthesis(ws)
    assert img.shape == (2, G.img_channels, resolution, resolution)
    assert torch.isfinite(img).all()


def test_official_num_ws():
    for resolution, num_ws in [(256, 14), (512, 16), (1024, 18)]:
        assert GeneratorConfig(img_resolution=resolution).img_resolution == resolution
        assert 2 * (resolution.bit_length() - 2) == num_ws


def test_conditional_generator_needs_and_uses_the_label():
    G = make_tiny_generator(c_dim=3)
    z = _z(G).repeat(3, 1)[:3]
    labels = torch.eye(3)
    ws = G.mapping(z, labels)
    assert ws.shape == (3, G.num_ws, G.w_dim)
    assert not torch.allclose(ws[0], ws[1])
    assert G(z, labels).shape == (3, 3, 32, 32)
    with pytest.raises(ValueError, match="c_dim=3"):
        G.mapping(z)


def test_const_noise_is_deterministic(tiny_generator):
    ws = tiny_generator.mapping(_z(tiny_generator))
    assert torch.equal(
        tiny_generator.synthesis(ws, noise_mode="const"),
        tiny_generator.synthesis(ws, noise_mode="const"),
    )


def test_random_noise_differs_between_calls(tiny_generator):
    ws = tiny_generator.mapping(_z(tiny_generator))
    assert not torch.equal(
        tiny_generator.synthesis(ws, noise_mode="random"),
        tiny_generator.synthesis(ws, noise_mode="random"),
    )


def test_no_noise_differs_from_const_noise_when_strength_is_nonzero(tiny_generator):
    ws = tiny_generator.mapping(_z(tiny_generator))
    none = tiny_generator.synthesis(ws, noise_mode="none")
    assert torch.equal(none, tiny_generator.synthesis(ws, noise_mode="none"))
    assert not torch.allclose(none, tiny_generator.synthesis(ws, noise_mode="const"))


def test_noise_mode_is_irrelevant_without_noise_strength():
    G = make_tiny_generator(noise=False)
    ws = G.mapping(_z(G))
    assert torch.equal(G.synthesis(ws, noise_mode="none"), G.synthesis(ws, noise_mode="const"))


def test_unknown_noise_mode_is_refused(tiny_generator):
    with pytest.raises(ValueError, match="noise_mode"):
        tiny_generator.synthesis(tiny_generator.mapping(_z(tiny_generator)), noise_mode="fresh")


def test_truncation_psi_zero_gives_w_avg(tiny_generator):
    ws = tiny_generator.mapping(_z(tiny_generator), truncation_psi=0)
    assert torch.allclose(ws, tiny_generator.mapping.w_avg.expand_as(ws))


def test_truncation_interpolates_towards_w_avg(tiny_generator):
    z = _z(tiny_generator)
    w, w_avg = tiny_generator.mapping(z), tiny_generator.mapping.w_avg
    assert torch.allclose(
        tiny_generator.mapping(z, truncation_psi=0.7), w_avg + 0.7 * (w - w_avg), atol=1e-6
    )
    assert torch.equal(tiny_generator.mapping(z, truncation_psi=1), w)


def test_truncation_cutoff_truncates_only_the_first_ws(tiny_generator):
    z = _z(tiny_generator)
    w = tiny_generator.mapping(z)
    ws = tiny_generator.mapping(z, truncation_psi=0, truncation_cutoff=3)
    assert torch.allclose(ws[:, :3], tiny_generator.mapping.w_avg.expand_as(ws[:, :3]))
    assert torch.equal(ws[:, 3:], w[:, 3:])


def test_features_are_the_block_outputs(tiny_generator_64):
    G = tiny_generator_64
    ws = G.mapping(_z(G))
    img, features = G.synthesis(ws, return_features=True)
    assert torch.equal(img, G.synthesis(ws))
    assert [f.shape[-1] for f in features] == G.block_resolutions
    assert [f.shape[1] for f in features] == [G.config.channels(r) for r in G.block_resolutions]


@pytest.mark.parametrize("stop_at_block", [0, 2, 4])
def test_stopping_early_gives_the_full_pass_features(tiny_generator_64, stop_at_block):
    G = tiny_generator_64
    ws = G.mapping(_z(G))
    _, full = G.synthesis(ws, return_features=True)
    early = G.synthesis(ws, stop_at_block=stop_at_block)
    assert len(early) == stop_at_block + 1
    for a, b in zip(early, full):
        assert torch.equal(a, b)


def test_stopping_early_computes_no_later_block(tiny_generator_64):
    G = tiny_generator_64
    called = []
    G.synthesis.b32.register_forward_hook(lambda *_: called.append("b32"))
    G.synthesis(G.mapping(_z(G)), stop_at_block=2)  # blocks 4, 8, 16
    assert called == []


def test_stop_at_block_out_of_range_is_refused(tiny_generator):
    with pytest.raises(ValueError, match="stop_at_block"):
        tiny_generator.synthesis(tiny_generator.mapping(_z(tiny_generator)), stop_at_block=4)


def test_wrong_ws_shape_is_refused(tiny_generator):
    with pytest.raises(ValueError, match=r"ws must be \[N, 8, w_dim\]"):
        tiny_generator.synthesis(torch.zeros([1, 7, 16]))
