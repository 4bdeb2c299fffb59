"""The training script trains, checkpoints, resumes, and records its settings in the weights."""

from __future__ import annotations

from nodes.gan import load_generator, read_config
from nodes.toyfaces.latent_space import Z_DIM
from nodes.toyfaces.train import TrainConfig, train

TINY = dict(resolution=32, w_dim=16, channel_base=256, channel_max=16, mapping_layers=2, batch=2, eval_every=2, checkpoint_every=1)


def test_training_resumes_from_its_checkpoint_and_records_settings(tmp_path):
    first = train(TrainConfig(steps=2, **TINY), tmp_path)
    assert read_config(first).extra["train_steps"] == 2
    second = train(TrainConfig(steps=3, **TINY), tmp_path)
    extra = read_config(second).extra
    assert extra["train_steps"] == 3
    assert extra["train_settings"]["batch"] == 2
    G = load_generator(second)
    assert G.z_dim == Z_DIM and G.img_resolution == 32
