"""The StyleGAN3 generator (SPEC §3b): NVIDIA's geometry and names, golden numbers, checkpoints,
conversion of NVIDIA-format pickles, `nodegraph info`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from nodes.gan import (
    CheckpointError,
    StyleGAN3Config,
    StyleGAN3Generator,
    load_generator,
    save_generator,
)
from nodes.gan.checkpoint import CONFIG_KEY
from nodes.gan.cli import info_command
from nodes.gan.convert import ConversionError, convert, generator_from_network_pickle
from nodes.gan.stylegan3 import layer_geometry
from tests.gan import stylegan3_golden as golden
from tests.gan.nvidia_pickle import network_pickle_bytes
from tests.tiny import make_tiny_stylegan3

# NVIDIA's SynthesisNetwork built with these configs names and pads its layers so (read off
# NVIDIA's stylegan3 code; T: its defaults, R: train.py's stylegan3-r doubling of the channels).
NVIDIA_T1024 = {
    "L0_36_512": (9, 8),
    "L1_36_512": (9, 8),
    "L2_52_512": (-6, -9),
    "L3_52_512": (9, 8),
    "L4_84_512": (-6, -9),
    "L5_148_512": (-6, -9),
    "L6_148_512": (9, 8),
    "L7_276_323": (-6, -9),
    "L8_276_203": (9, 8),
    "L9_532_128": (-6, -9),
    "L10_1044_81": (-6, -9),
    "L11_1044_51": (9, 8),
    "L12_1044_32": (9, 8),
    "L13_1024_32": (-11, -12),
    "L14_1024_3": (0, 0),
}
NVIDIA_R1024_NAMES = [
    "L0_36_1024", "L1_36_1024", "L2_52_1024", "L3_52_1024", "L4_84_1024", "L5_148_1024",
    "L6_148_1024", "L7_276_645", "L8_276_406", "L9_532_256", "L10_1044_161", "L11_1044_102",
    "L12_1044_64", "L13_1024_64", "L14_1024_3",
]  # fmt: skip
NVIDIA_T256_NAMES = [
    "L0_36_512", "L1_36_512", "L2_36_512", "L3_52_512", "L4_52_512", "L5_84_512", "L6_84_512",
    "L7_148_512", "L8_148_512", "L9_148_362", "L10_276_256", "L11_276_181", "L12_276_128",
    "L13_256_128", "L14_256_3",
]  # fmt: skip


def test_official_t_config_has_nvidias_layer_names_and_padding():
    _, specs = layer_geometry(StyleGAN3Config())
    assert {s.name: s.padding[:2] for s in specs} == NVIDIA_T1024
    assert all(s.padding[2:] == s.padding[:2] for s in specs)


def test_official_r_and_256px_configs_have_nvidias_layer_names():
    r_config = StyleGAN3Config(
        channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True
    )
    assert [s.name for s in layer_geometry(r_config)[1]] == NVIDIA_R1024_NAMES
    assert [
        s.name for s in layer_geometry(StyleGAN3Config(img_resolution=256))[1]
    ] == NVIDIA_T256_NAMES


def test_r_config_has_radial_filters_except_in_its_critically_sampled_layers():
    G = make_tiny_stylegan3("R")
    for layer in G.synthesis.layers()[:-1]:
        assert layer.weight.shape[-1] == 1
        if layer.down_filter is not None:
            assert layer.down_filter.ndim == (1 if layer.spec.is_critically_sampled else 2)


@pytest.mark.parametrize("variant", ["T", "R"])
def test_num_ws_features_and_image_shapes(variant):
    G = make_tiny_stylegan3(variant)
    assert G.num_ws == G.config.num_layers + 2 == 8
    ws = G.random_ws(0)
    image, features = G.synthesis(ws, return_features=True)
    assert image.shape == (1, 3, 16, 16)
    assert [f.shape[-1] for f in features] == G.block_resolutions
    assert [f.shape[1] for f in features] == [
        layer.spec.out_channels for layer in G.synthesis.layers()
    ]


def test_stopping_at_a_layer_gives_the_same_features_and_runs_nothing_above(monkeypatch):
    G = make_tiny_stylegan3("T")
    ws = G.random_ws(1)
    _, full = G.synthesis(ws, return_features=True)
    monkeypatch.setattr(G.synthesis.layers()[6], "forward", _must_not_run)
    early = G.synthesis(ws, stop_at_block=5)
    assert len(early) == 6 and all(torch.equal(a, b) for a, b in zip(early, full))


def _must_not_run(*args, **kwargs):
    raise AssertionError("a layer above the stop was computed")


def test_feature_blocks_chain_to_the_synthesis_features():
    """The drag engine runs blocks() one by one with their num_conv W+ rows (nodes/drag/features.py)."""
    G = make_tiny_stylegan3("R")
    ws = G.random_ws(2) + 0.1 * torch.randn(
        1, G.num_ws, G.w_dim, generator=torch.Generator().manual_seed(0)
    )
    _, full = G.synthesis(ws, return_features=True)
    x, row = None, 0
    for block, expected in zip(G.synthesis.blocks(), full):
        x = block(x, ws[:, row : row + block.num_conv])
        row += block.num_conv
        assert torch.equal(x, expected)
    assert row == G.num_ws  # ws[0] feeds the input, ws[k + 1] layer k (ToRGB included)


@pytest.mark.parametrize("variant", golden.VARIANTS)
def test_golden_outputs(variant):
    """Pins the numbers that matched NVIDIA's code (see tests/gan/stylegan3_golden.py)."""
    G = load_generator(golden.checkpoint_path(variant))
    expected = load_file(str(golden.expected_path(variant)))
    for name, value in golden.outputs(G).items():
        torch.testing.assert_close(value, expected[name], atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize("variant", golden.VARIANTS)
def test_filters_designed_here_equal_the_stored_ones(variant):
    """A fresh generator designs its filters without scipy; they agree with the fixture's,
    which equal scipy's firwin / NVIDIA's jinc designs within 2e-8."""
    stored = load_generator(golden.checkpoint_path(variant))
    fresh = StyleGAN3Generator(stored.config)
    for name, tensor in stored.state_dict().items():
        if name.endswith("_filter"):
            torch.testing.assert_close(fresh.state_dict()[name], tensor, atol=2e-4, rtol=0)


def test_input_translation_shifts_the_fourier_features_by_whole_samples():
    G = make_tiny_stylegan3("T")
    w = G.random_ws(0)[:, 0]
    fourier = G.synthesis.input
    before = fourier(w)
    G.set_input_transform(translate_x=2 / fourier.sampling_rate)  # two samples to the right
    after = fourier(w)
    torch.testing.assert_close(after[..., 2:], before[..., :-2], atol=1e-5, rtol=0)
    assert not torch.allclose(after, before, atol=1e-3)


def test_a_full_turn_of_rotation_is_the_identity():
    G = make_tiny_stylegan3("R")
    ws = G.random_ws(4)
    image = G.synthesis(ws)
    assert torch.allclose(G.set_input_transform(rotate=360.0).synthesis(ws), image, atol=1e-5)
    assert not torch.allclose(G.set_input_transform(rotate=30.0).synthesis(ws), image, atol=1e-3)


@pytest.mark.parametrize("variant", ["T", "R"])
def test_checkpoint_round_trip_is_bit_exact(tmp_path, variant):
    G = make_tiny_stylegan3(variant)
    loaded = load_generator(save_generator(G, tmp_path / "g.safetensors"))
    assert isinstance(loaded, StyleGAN3Generator) and loaded.config == G.config
    ws = G.random_ws(5)
    assert torch.equal(loaded.synthesis(ws), G.synthesis(ws))


def test_out_of_bounds_config_is_refused_before_building(tmp_path):
    G = make_tiny_stylegan3("T")
    path = tmp_path / "g.safetensors"
    config = dict(G.config.to_dict(), num_layers=10**6)
    save_file(
        {k: v.contiguous() for k, v in G.state_dict().items()},
        str(path),
        metadata={CONFIG_KEY: json.dumps(config)},
    )
    with pytest.raises(CheckpointError, match=r"num_layers must be an integer in \[1, 64\]"):
        load_generator(path)


# --- NVIDIA-format pickles ----------------------------------------------------------------------


def nvidia_stylegan3_kwargs(G: StyleGAN3Generator) -> dict:
    """G_ema's init_kwargs as NVIDIA's stylegan3 train.py stores them (flat synthesis kwargs)."""
    cfg = G.config
    return dict(
        z_dim=cfg.z_dim,
        c_dim=cfg.c_dim,
        w_dim=cfg.w_dim,
        img_resolution=cfg.img_resolution,
        img_channels=cfg.img_channels,
        mapping_kwargs=dict(num_layers=cfg.mapping_layers),
        channel_base=cfg.channel_base,
        channel_max=cfg.channel_max,
        num_layers=cfg.num_layers,
        conv_kernel=cfg.conv_kernel,
        use_radial_filters=cfg.use_radial_filters,
        magnitude_ema_beta=0.999,
        conv_clamp=cfg.conv_clamp,
    )


def nvidia_layer_attributes(module) -> dict:
    """The hyper-parameters NVIDIA's SynthesisInput / SynthesisLayer keep as attributes."""
    spec = getattr(module, "spec", None)
    if spec is not None:
        return dict(
            in_size=np.array([spec.in_size] * 2),
            out_size=np.array([spec.out_size] * 2),
            in_sampling_rate=spec.in_sampling_rate,
            out_sampling_rate=spec.out_sampling_rate,
            in_cutoff=np.float64(spec.in_cutoff),
            out_cutoff=np.float64(spec.out_cutoff),
            conv_kernel=spec.conv_kernel,
            up_factor=spec.up_factor,
            down_factor=spec.down_factor,
            padding=list(spec.padding),
            is_torgb=spec.is_torgb,
        )
    if hasattr(module, "bandwidth"):
        return dict(
            size=np.array([module.size] * 2),
            sampling_rate=module.sampling_rate,
            bandwidth=module.bandwidth,
        )
    return {}


def _pickle(tmp_path, G, init_kwargs=None, attributes=nvidia_layer_attributes):
    path = tmp_path / "network.pkl"
    kwargs = nvidia_stylegan3_kwargs(G) if init_kwargs is None else init_kwargs
    path.write_bytes(
        network_pickle_bytes(G, str(tmp_path / "pwned"), init_kwargs=kwargs, attributes=attributes)
    )
    return path


@pytest.mark.parametrize("variant", ["T", "R"])
def test_nvidia_pickle_converts_to_the_same_generator(tmp_path, variant):
    source = make_tiny_stylegan3(variant)
    G = load_generator(convert(_pickle(tmp_path, source), tmp_path / "g.safetensors"))
    assert isinstance(G, StyleGAN3Generator)
    assert G.config.to_dict() | {"source": ""} == source.config.to_dict()
    assert "StyleGAN3" in G.config.source
    ws = source.random_ws(0, truncation_psi=0.7)
    assert torch.equal(G.random_ws(0, truncation_psi=0.7), ws)
    assert torch.equal(G.synthesis(ws), source.synthesis(ws))
    assert not (tmp_path / "pwned").exists()


def test_pickle_without_init_kwargs_converts_from_its_layer_names(tmp_path):
    source = make_tiny_stylegan3("R", channel_base=256, channel_max=32)  # 32 ... 16 channels
    G = generator_from_network_pickle(_pickle(tmp_path, source, init_kwargs={}))
    assert (G.config.channel_base, G.config.channel_max, G.config.variant) == (256, 32, "R")
    assert "inferred" in G.config.source
    ws = source.random_ws(1)
    assert torch.equal(G.synthesis(ws), source.synthesis(ws))


def test_a_layer_built_differently_from_its_config_is_refused(tmp_path):
    source = make_tiny_stylegan3("T")

    def wrong_padding(module) -> dict:
        attributes = nvidia_layer_attributes(module)
        if getattr(module, "spec", None) is not None and module.spec.name.startswith("L2_"):
            attributes["padding"] = [0, 0, 0, 0]
        return attributes

    with pytest.raises(
        ConversionError, match=r"L2_\w+\.padding is \[0, 0, 0, 0\] but its config implies"
    ):
        generator_from_network_pickle(_pickle(tmp_path, source, attributes=wrong_padding))


def test_info_names_the_family(tmp_path, capsys, tiny_generator):
    for G, family in (
        (make_tiny_stylegan3("T"), "StyleGAN3-T"),
        (make_tiny_stylegan3("R"), "StyleGAN3-R"),
        (tiny_generator, "StyleGAN2"),
    ):
        path = save_generator(G, tmp_path / f"{family}.safetensors")
        assert info_command([str(path)]) == 0
        assert f"generator    {family}\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("up", "down", "pad"),
    [(2, 1, (9, 8, 9, 8)), (4, 1, (-6, -9, -6, -9)), (1, 2, (0, 0, 0, 0)), (1, 1, (3, -2, 0, 1))],
)
def test_separable_resampling_equals_the_zero_insertion_reference(up, down, pad):
    """StyleGAN3's 1-D filters run as transposed / strided convs; the 2-D outer-product filter
    runs NVIDIA's reference way (zero insertion, padding, full convolution, subsampling)."""
    from nodes.gan.ops import upfirdn2d

    gen = torch.Generator().manual_seed(up * 10 + down)
    x, taps = torch.randn(2, 3, 19, 17, generator=gen), torch.randn(12, generator=gen)
    separable = upfirdn2d(x, taps, up=up, pad=pad, gain=up * up, down=down)
    reference = upfirdn2d(x, torch.outer(taps, taps), up=up, pad=pad, gain=up * up, down=down)
    torch.testing.assert_close(separable, reference, atol=1e-5, rtol=1e-5)
