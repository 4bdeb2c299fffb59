"""Converting NVIDIA network pickles and rosinality checkpoints; refusing unsafe pickles (SPEC §3)."""

from __future__ import annotations

import builtins
import io
import os
import pickle
import subprocess

import pytest
import torch

from nodes.gan import Generator, load_generator
from nodes.gan.convert import (
    ConversionError,
    convert,
    generator_from_network_pickle,
    generator_from_rosinality,
)
from tests.gan.nvidia_pickle import network_pickle_bytes, nvidia_init_kwargs
from tests.tiny import make_tiny_generator


@pytest.fixture
def marker(tmp_path):
    """A file that only code run from a pickle would create."""
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "code from the pickle was executed"


def _write(tmp_path, data: bytes, name: str = "network.pkl"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _images(G: Generator, seed: int = 0):
    z = torch.randn([2, G.z_dim], generator=torch.Generator().manual_seed(seed))
    c = torch.eye(G.c_dim)[[0, G.c_dim - 1]] if G.c_dim else None
    return G(z, c, truncation_psi=0.7)


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_converted_pickle_gives_the_same_images(tmp_path, marker, tiny_generator, protocol):
    pkl = _write(tmp_path, network_pickle_bytes(tiny_generator, str(marker), protocol=protocol))
    G = load_generator(convert(pkl, tmp_path / "g.safetensors"))
    assert G.config.to_dict() | {"source": ""} == tiny_generator.config.to_dict()
    assert "NVIDIA network pickle" in G.config.source
    assert torch.equal(_images(G), _images(tiny_generator))


def test_stylegan3_repo_layout_and_conditional_config(tmp_path, marker):
    source = make_tiny_generator(c_dim=4, conv_clamp=None, mapping_layers=3)
    kwargs = nvidia_init_kwargs(source, layout="stylegan3")
    G = generator_from_network_pickle(
        _write(tmp_path, network_pickle_bytes(source, str(marker), init_kwargs=kwargs))
    )
    assert (G.config.c_dim, G.config.conv_clamp, G.config.mapping_layers) == (4, None, 3)
    assert torch.equal(_images(G), _images(source))


def test_config_is_inferred_from_shapes_without_init_kwargs(tmp_path, marker):
    source = make_tiny_generator(64, channel_base=512, channel_max=32)  # 32, 32, 32, 16, 8 channels
    G = generator_from_network_pickle(
        _write(tmp_path, network_pickle_bytes(source, str(marker), init_kwargs={}))
    )
    assert [G.config.channels(r) for r in G.block_resolutions] == [
        source.config.channels(r) for r in source.block_resolutions
    ]
    assert G.config.conv_clamp == 256 and "inferred" in G.config.source
    assert torch.equal(_images(G), _images(source))


def test_init_kwargs_that_contradict_the_weights_name_the_tensor(tmp_path, marker, tiny_generator):
    kwargs = nvidia_init_kwargs(tiny_generator)
    kwargs["synthesis_kwargs"]["channel_max"] = 16
    with pytest.raises(ConversionError, match=r"tensor '.*' has shape \[32.*expects \[16"):
        generator_from_network_pickle(
            _write(tmp_path, network_pickle_bytes(tiny_generator, str(marker), init_kwargs=kwargs))
        )


def test_unsupported_architecture_is_refused(tmp_path, marker, tiny_generator):
    kwargs = nvidia_init_kwargs(tiny_generator)
    kwargs["synthesis_kwargs"]["architecture"] = "resnet"
    with pytest.raises(ConversionError, match="architecture='resnet'"):
        generator_from_network_pickle(
            _write(tmp_path, network_pickle_bytes(tiny_generator, str(marker), init_kwargs=kwargs))
        )


class _Reduce:
    """Pickles as a call of `func(*args)`: what a malicious pickle asks the loader to run."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _attacks(marker):
    return {
        "posix.system": _Reduce(os.system, f"touch {marker}"),
        "builtins.eval": _Reduce(builtins.eval, f"open({str(marker)!r}, 'w')"),
        "builtins.exec": _Reduce(builtins.exec, f"open({str(marker)!r}, 'w')"),
        "subprocess.Popen": _Reduce(subprocess.Popen, ["touch", str(marker)]),
        "builtins.getattr": _Reduce(getattr, str(marker), "upper"),
    }


@pytest.mark.parametrize(
    "global_name",
    ["posix.system", "builtins.eval", "builtins.exec", "subprocess.Popen", "builtins.getattr"],
)
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, marker, global_name):
    pkl = _write(tmp_path, pickle.dumps({"G_ema": _attacks(marker)[global_name]}))
    with pytest.raises(
        ConversionError, match=rf"refusing global {global_name}\b.*nothing was executed"
    ):
        convert(pkl, tmp_path / "g.safetensors")
    assert not (tmp_path / "g.safetensors").exists()


def test_malicious_global_deep_inside_a_network_is_refused(tmp_path, marker, tiny_generator):
    evil = {"G_ema_extra": _Reduce(os.system, f"touch {marker}")}
    pkl = _write(tmp_path, network_pickle_bytes(tiny_generator, str(marker), extra=evil))
    with pytest.raises(ConversionError, match="posix.system"):
        generator_from_network_pickle(pkl)


def test_malicious_tensor_storage_is_refused(tmp_path, marker):
    """Storages are nested pickles; they go through torch's weights-only loader."""
    inner = pickle.dumps(_Reduce(os.system, f"touch {marker}"), protocol=2)
    data = _global_call_pickle("torch.storage", "_load_from_bytes", inner)
    with pytest.raises(ConversionError):
        generator_from_network_pickle(_write(tmp_path, data))


def _global_call_pickle(module: str, name: str, argument: bytes) -> bytes:
    """Protocol-2 stream for `{'G_ema': module.name(argument)}`, written opcode by opcode."""
    out = io.BytesIO()
    out.write(b"\x80\x02}q\x00X\x05\x00\x00\x00G_emaq\x01")
    out.write(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
    out.write(b"B" + len(argument).to_bytes(4, "little") + argument + b"\x85R")
    out.write(b"s.")
    return out.getvalue()


def test_a_file_that_is_not_a_pickle_is_refused(tmp_path):
    with pytest.raises(ConversionError, match="not a readable network pickle"):
        generator_from_network_pickle(_write(tmp_path, b"PK\x03\x04 not a pickle at all"))


def test_a_pickle_without_g_ema_is_refused(tmp_path):
    with pytest.raises(ConversionError, match="no G_ema"):
        generator_from_network_pickle(_write(tmp_path, pickle.dumps({"G": None})))


# --- rosinality ---------------------------------------------------------------------------------


def _as_rosinality(G: Generator) -> dict[str, torch.Tensor]:
    """Our weights under rosinality's names and shapes (their model.py layout)."""
    sd, out = G.state_dict(), {}
    for i in range(G.config.mapping_layers):
        out[f"style.{i + 1}.weight"], out[f"style.{i + 1}.bias"] = (
            sd[f"mapping.fc{i}.weight"],
            sd[f"mapping.fc{i}.bias"],
        )
    out["input.input"] = sd["synthesis.b4.const"][None]
    layers, rgbs = [("synthesis.b4.conv1", "conv1")], [("synthesis.b4.torgb", "to_rgb1")]
    for k, res in enumerate(G.block_resolutions[1:], start=1):
        layers += [
            (f"synthesis.b{res}.conv0", f"convs.{2 * k - 2}"),
            (f"synthesis.b{res}.conv1", f"convs.{2 * k - 1}"),
        ]
        rgbs.append((f"synthesis.b{res}.torgb", f"to_rgbs.{k - 1}"))
    for i, (ours, theirs) in enumerate(layers):
        out[f"{theirs}.conv.weight"] = sd[f"{ours}.weight"][None]
        out[f"{theirs}.conv.modulation.weight"] = sd[f"{ours}.affine.weight"]
        out[f"{theirs}.conv.modulation.bias"] = sd[f"{ours}.affine.bias"]
        out[f"{theirs}.noise.weight"] = sd[f"{ours}.noise_strength"].reshape(1)
        out[f"{theirs}.activate.bias"] = sd[f"{ours}.bias"]
        out[f"noises.noise_{i}"] = sd[f"{ours}.noise_const"][None, None]
        if ours.endswith("conv0"):
            out[f"{theirs}.conv.blur.kernel"] = torch.ones(4, 4)
    for ours, theirs in rgbs:
        out[f"{theirs}.conv.weight"] = sd[f"{ours}.weight"][None]
        out[f"{theirs}.conv.modulation.weight"] = sd[f"{ours}.affine.weight"]
        out[f"{theirs}.conv.modulation.bias"] = sd[f"{ours}.affine.bias"]
        out[f"{theirs}.bias"] = sd[f"{ours}.bias"].reshape(1, -1, 1, 1)
    return out


def test_rosinality_checkpoint_converts_name_for_name(tmp_path):
    source = make_tiny_generator(conv_clamp=None)
    path = tmp_path / "550000.pt"
    torch.save({"g_ema": _as_rosinality(source), "latent_avg": source.mapping.w_avg.clone()}, path)
    G = generator_from_rosinality(path)
    assert G.config.conv_clamp is None and "rosinality" in G.config.source
    for name, tensor in source.state_dict().items():
        assert torch.equal(G.state_dict()[name], tensor), name
    assert torch.equal(_images(G), _images(source))


def test_rosinality_without_latent_avg_estimates_w_avg(tmp_path):
    source = make_tiny_generator(conv_clamp=None)
    path = tmp_path / "g.pt"
    torch.save({"g_ema": _as_rosinality(source)}, path)
    G = generator_from_rosinality(path, w_avg_samples=2000)
    expected = source.mapping(torch.randn([2000, 16], generator=torch.Generator().manual_seed(0)))[
        :, 0
    ].mean(0)
    assert torch.allclose(G.mapping.w_avg, expected, atol=1e-5)


def test_rosinality_file_with_code_is_refused(tmp_path, marker):
    path = tmp_path / "g.pt"
    torch.save({"g_ema": _Reduce(os.system, f"touch {marker}")}, path)
    with pytest.raises(ConversionError, match="not a weights-only torch checkpoint"):
        generator_from_rosinality(path)
