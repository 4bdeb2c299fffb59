"""The training script trains, checkpoints, resumes, and records its settings in the weights."""

from __future__ import annotations

import pytest

from nodes.drag import recommended_settings
from nodes.gan import load_generator, read_config, save_generator
from nodes.toyfaces.latent_space import Z_DIM
from nodes.toyfaces.train import DRAG_DEFAULTS, TrainConfig, main, train

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
    assert recommended_settings(G) == DRAG_DEFAULTS


def test_stamping_drag_defaults_rewrites_the_recommendation_and_keeps_every_weight(tmp_path):
    import torch

    path = train(TrainConfig(steps=1, **TINY), tmp_path)
    G = load_generator(path)
    G.config.extra = {**G.config.extra, "drag_defaults": {"lr": 0.5}}
    save_generator(G, path, dtype=torch.float16)
    before = {k: v.clone() for k, v in load_generator(path).state_dict().items()}
    assert main(["--stamp-drag-defaults", str(path)]) == 0
    after = load_generator(path)
    assert recommended_settings(after) == DRAG_DEFAULTS
    assert read_config(path).extra["train_steps"] == 1  # the rest of the metadata is kept
    for name, tensor in after.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_the_mapping_learns_at_mapping_lr_scale_times_the_synthesis_rate():
    """Its weights are stored as w / 0.01, so its Adam lr must be 100x larger to move w as fast."""
    import torch

    from nodes.gan import Generator
    from nodes.toyfaces.train import make_optimizer, model_config

    for scale in (1.0, 0.01):
        cfg = TrainConfig(mapping_lr_scale=scale, lr=1e-3, **TINY)
        G = Generator(model_config(cfg))
        before = {name: p.detach().clone() for name, p in G.named_parameters()}
        opt = make_optimizer(G, cfg)
        G(torch.randn(2, Z_DIM)).square().mean().backward()
        opt.step()  # Adam's first step moves every weight with a gradient by lr (in stored units)
        moved = {name: (p.detach() - before[name]).abs().max().item() for name, p in G.named_parameters()}
        multiplier = G.config.mapping_lr_multiplier
        assert abs(moved["mapping.fc0.weight"] * multiplier - scale * 1e-3) < 1e-6
        assert abs(max(v for k, v in moved.items() if not k.startswith("mapping.")) - 1e-3) < 1e-6


def test_feature_weights_peak_on_the_landmarks_and_are_one_far_from_them():
    import torch

    from nodes.toyfaces.train import feature_weights

    landmarks = torch.tensor([[[10.5, 20.5], [40.5, 40.5]]])  # pixel centres: x, y
    w = feature_weights(landmarks, size=64, gain=5.0, sigma=2.0)
    assert w.shape == (1, 1, 64, 64)
    assert abs(w[0, 0, 20, 10].item() - 6.0) < 1e-5 and abs(w[0, 0, 40, 40].item() - 6.0) < 1e-5
    assert abs(w[0, 0, 0, 63].item() - 1.0) < 1e-6
    assert w[0, 0, 20, 12].item() < w[0, 0, 20, 11].item() < w[0, 0, 20, 10].item()


def test_reconstruction_loss_is_zero_on_the_target_and_scales_as_its_pixel_norm():
    import torch

    from nodes.toyfaces.train import reconstruction_loss

    real = torch.rand(2, 3, 16, 16) * 2 - 1
    assert reconstruction_loss(real, real, pixel="l2").item() == 0.0
    shifted = real + 0.1  # a uniform offset: no edge error, the same error at all three scales
    assert abs(reconstruction_loss(shifted, real, pixel="l1").item() - 3 * 0.1) < 1e-5
    assert abs(reconstruction_loss(shifted, real, pixel="l2").item() - 3 * 5 * 0.01) < 1e-5
    edge = real.clone()
    edge[..., 8:] += 0.5  # a step: the edge terms see it
    assert reconstruction_loss(edge, real, pixel="l2").item() > 3 * 5 * 0.25 / 2 * 0.99


def test_an_unknown_pixel_loss_is_refused_by_name():
    import pytest
    import torch

    from nodes.toyfaces.train import reconstruction_loss

    image = torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match="pixel loss must be one of .*'huber'"):
        reconstruction_loss(image, image, pixel="huber")


def test_batches_rendered_ahead_in_worker_processes_are_the_batches_of_those_steps():
    import torch

    from nodes.toyfaces.train import batches, make_batch

    cfg = TrainConfig(steps=3, render_workers=1, mixing_prob=0.5, **{**TINY, "batch": 3})
    ahead = list(batches(cfg, first_step=1))
    assert len(ahead) == 2
    for step, batch in zip((1, 2), ahead):
        here = make_batch(cfg, step)
        assert torch.equal(batch.real, here.real) and torch.equal(batch.mixed, here.mixed)
        assert torch.equal(batch.z, here.z) and torch.equal(batch.landmarks, here.landmarks)


@pytest.mark.parametrize("focus", ["", "nose_tip=20, mouth_left=0"])
def test_the_landmark_term_adds_the_detectors_error_on_the_generated_image_and_trains_through_it(focus):
    import torch

    from nodes.gan import Generator
    from nodes.toyfaces.latent_space import mix_ws
    from nodes.toyfaces.render import LANDMARK_INDEX, NUM_LANDMARKS
    from nodes.toyfaces.train import _frozen_detector, batch_loss, make_batch, model_config

    small = {**TINY, "resolution": 128, "batch": 2, "mixing_prob": 0.5}
    plain, weighted = TrainConfig(**small), TrainConfig(**small, landmark_weight=0.5, landmark_focus=focus)
    weights = torch.ones(NUM_LANDMARKS)
    if focus:
        weights[LANDMARK_INDEX["nose_tip"]], weights[LANDMARK_INDEX["mouth_left"]] = 20, 0
    G = Generator(model_config(plain))
    batch = make_batch(plain, 0)

    def grads(cfg):
        G.zero_grad()
        loss = batch_loss(G, cfg, batch)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in G.synthesis.parameters() if p.grad is not None]

    without, g0 = grads(plain)
    with_term, g1 = grads(weighted)
    with torch.no_grad():
        ws = G.mapping(batch.z)
        ws = torch.where(batch.mixed[:, None, None], mix_ws(ws, G.mapping(batch.z_fine), plain.crossover), ws)
        found = _frozen_detector("cpu")(G.synthesis(ws, noise_mode="none"))
        error = ((found - batch.landmarks).norm(dim=-1) * weights).mean()
    assert torch.allclose(with_term - without, 0.5 * error, rtol=1e-4)
    assert any(not torch.equal(a, b) for a, b in zip(g0, g1))  # the term trains G
    assert all(p.grad is None for p in _frozen_detector("cpu").parameters())  # and not the detector


@pytest.mark.parametrize(
    ("spec", "message"),
    [("nose=20", "unknown landmark 'nose'"), ("nose_tip", "not name=weight"), ("nose_tip=-1", "must be >= 0")],
)
def test_a_bad_landmark_focus_names_the_flag_and_the_fix(spec, message):
    from nodes.toyfaces.train import landmark_focus_weights

    with pytest.raises(ValueError, match=message) as caught:
        landmark_focus_weights(spec)
    assert "--landmark-focus" in str(caught.value)
    with pytest.raises(ValueError, match=message):
        TrainConfig(landmark_focus=spec)  # refused when the run is configured, not at its first step
