"""Our safetensors checkpoints: bit-exact round trip and clear errors (SPEC §3)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from nodes.gan import CheckpointError, load_generator, read_config, save_generator
from nodes.gan.checkpoint import CONFIG_KEY
from tests.tiny import make_tiny_generator


def test_round_trip_is_bit_exact(tmp_path, tiny_generator):
    path = save_generator(tiny_generator, tmp_path / "g.safetensors")
    loaded = load_generator(path)
    assert loaded.config == tiny_generator.config
    for (name, a), (_, b) in zip(tiny_generator.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    ws = tiny_generator.mapping(torch.randn([2, 16]))
    assert torch.equal(loaded.synthesis(ws), tiny_generator.synthesis(ws))


def test_round_trip_keeps_a_conditional_config(tmp_path):
    G = make_tiny_generator(c_dim=2, conv_clamp=None)
    assert read_config(save_generator(G, tmp_path / "g.safetensors")) == G.config


def test_float16_storage_stays_within_tolerance(tmp_path, tiny_generator):
    path = save_generator(tiny_generator, tmp_path / "g16.safetensors", dtype=torch.float16)
    loaded = load_generator(path)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    z = torch.randn([2, 16], generator=torch.Generator().manual_seed(0))
    reference = tiny_generator(z)
    assert (loaded(z) - reference).abs().max() <= 2e-2 * reference.abs().max()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_generator(tmp_path / "absent.safetensors")


def test_a_file_that_is_not_safetensors_is_refused(tmp_path):
    path = tmp_path / "g.safetensors"
    path.write_bytes(b"\x80\x04 this is a pickle, not safetensors")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_generator(path)


def test_missing_config_is_refused(tmp_path, tiny_generator):
    path = tmp_path / "g.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_generator.state_dict().items()}, str(path))
    with pytest.raises(CheckpointError, match="no generator config"):
        load_generator(path)


@pytest.mark.parametrize("config", ["{not json", "[1, 2]", json.dumps({"img_resolution": 48})])
def test_malformed_config_is_refused(tmp_path, tiny_generator, config):
    path = tmp_path / "g.safetensors"
    tensors = {k: v.contiguous() for k, v in tiny_generator.state_dict().items()}
    save_file(tensors, str(path), metadata={CONFIG_KEY: config})
    with pytest.raises(CheckpointError, match="malformed generator config"):
        load_generator(path)


def test_wrong_shape_names_the_tensor_and_both_shapes(tmp_path, tiny_generator):
    path = tmp_path / "g.safetensors"
    tensors = {k: v.contiguous() for k, v in tiny_generator.state_dict().items()}
    tensors["synthesis.b8.conv0.weight"] = torch.zeros([32, 32, 1, 1])
    metadata = {CONFIG_KEY: json.dumps(tiny_generator.config.to_dict())}
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(
        CheckpointError,
        match=r"'synthesis\.b8\.conv0\.weight' has shape \[32, 32, 1, 1\] but the config expects \[32, 32, 3, 3\]",
    ):
        load_generator(path)


def test_missing_tensor_is_named(tmp_path, tiny_generator):
    path = tmp_path / "g.safetensors"
    tensors = {
        k: v.contiguous() for k, v in tiny_generator.state_dict().items() if k != "mapping.w_avg"
    }
    save_file(
        tensors, str(path), metadata={CONFIG_KEY: json.dumps(tiny_generator.config.to_dict())}
    )
    with pytest.raises(CheckpointError, match="mapping.w_avg"):
        load_generator(path)


def test_saved_checkpoint_gets_the_users_usual_mode_not_mkstemps_0600(tmp_path, tiny_generator):
    import os

    umask = os.umask(0o022)
    try:
        path = save_generator(tiny_generator, tmp_path / "g.safetensors")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
