"""StyleGAN2 TensorFlow pickles: a tiny one converts and renders, its build_module_src never
runs, hostile globals, wrong shapes, versions and extra variables are refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nodes.gan.convert import ConversionError, convert, load_foreign_generator
from tests.gan.tf_pickle import Global, _Network, tf_pickle_bytes, tiny_variables


def _write(tmp_path, data: bytes):
    path = tmp_path / "tiny_tf.pkl"
    path.write_bytes(data)
    return path


def test_tf_pickle_converts_and_renders(tmp_path):
    path = _write(tmp_path, tf_pickle_bytes())
    out = convert(path, tmp_path / "tiny.safetensors")
    assert out.is_file()
    G = load_foreign_generator(path)
    v = tiny_variables()
    assert torch.equal(G.mapping.w_avg, torch.from_numpy(v[""]["dlatent_avg"]))
    img = G(torch.randn(2, 8, generator=torch.Generator().manual_seed(0)), noise_mode="const")
    assert img.shape == (2, 3, 8, 8) and torch.isfinite(img).all() and img.std() > 0


def test_build_module_src_never_runs(tmp_path):
    marker = tmp_path / "ran.txt"
    src = f"open({str(marker)!r}, 'w').write('x')\n"
    load_foreign_generator(_write(tmp_path, tf_pickle_bytes(src=src)))
    assert not marker.exists()


def test_hostile_global_in_state_refused(tmp_path):
    data = tf_pickle_bytes(
        extra_state={"static_kwargs": {"x": _Network({}, Global("os", "system"))}}
    )
    with pytest.raises(ConversionError, match="refusing global os.system"):
        load_foreign_generator(_write(tmp_path, data))


def test_wrong_shape_refused_with_the_variable_named(tmp_path):
    v = tiny_variables()
    v["synthesis"]["8x8/Conv1/weight"] = np.zeros((3, 3, 8, 4), np.float32)
    with pytest.raises(ConversionError, match="conv1.weight"):
        load_foreign_generator(_write(tmp_path, tf_pickle_bytes(variables=v)))


def test_missing_and_extra_variables_and_version_refused(tmp_path):
    v = tiny_variables()
    del v["synthesis"]["noise2"]
    with pytest.raises(ConversionError, match="synthesis/noise2"):
        load_foreign_generator(_write(tmp_path, tf_pickle_bytes(variables=v)))
    v = tiny_variables()
    v["synthesis"]["16x16/Conv1/weight"] = np.zeros(1, np.float32)
    with pytest.raises(ConversionError, match="16x16/Conv1/weight"):
        load_foreign_generator(_write(tmp_path, tf_pickle_bytes(variables=v)))
    with pytest.raises(ConversionError, match="version 3"):
        load_foreign_generator(_write(tmp_path, tf_pickle_bytes(extra_state={"version": 3})))


def test_other_architecture_refused(tmp_path):
    data = tf_pickle_bytes(
        kwargs=dict(
            architecture="resnet",
            resolution=8,
            latent_size=8,
            dlatent_size=8,
            mapping_layers=2,
            fmap_base=32,
            fmap_max=16,
        )
    )
    with pytest.raises(ConversionError, match="architecture='resnet'"):
        load_foreign_generator(_write(tmp_path, data))
