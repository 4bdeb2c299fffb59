"""The bundled model's figures (nodes.toyfaces.scores) and the training terms behind them:
style mixing and the tracked w_avg."""

from __future__ import annotations

import torch

from nodes.toyfaces.latent_space import Z_DIM, face_params, mix_ws, mixed_face_params, z_for_seeds
from nodes.toyfaces.params import COARSE_INDICES, FINE_INDICES, GEOMETRY_INDICES, PARAM_INDEX
from nodes.toyfaces.scores import laplacian_energy, mean_w, w_avg_error
from nodes.toyfaces.train import TrainConfig, batch_loss, make_batch, track_w_avg
from tests.tiny import make_tiny_generator


def test_mix_ws_takes_rows_below_the_crossover_from_the_first_code():
    a, b = torch.zeros(2, 12, 4), torch.ones(2, 12, 4)
    mixed = mix_ws(a, b, crossover=6)
    assert mixed[:, :6].eq(0).all() and mixed[:, 6:].eq(1).all()


def test_a_mixed_face_has_the_first_faces_geometry_and_hair_shape_and_the_second_faces_colours():
    z_a, z_b = z_for_seeds([1, 2]), z_for_seeds([3, 4])
    mixed, a, b = mixed_face_params(z_a, z_b), face_params(z_a), face_params(z_b)
    assert torch.equal(mixed[:, list(COARSE_INDICES)], a[:, list(COARSE_INDICES)])
    assert torch.equal(mixed[:, list(FINE_INDICES)], b[:, list(FINE_INDICES)])
    assert set(GEOMETRY_INDICES) <= set(COARSE_INDICES)
    assert PARAM_INDEX["hair_length"] in COARSE_INDICES and PARAM_INDEX["skin_tone"] in FINE_INDICES


def test_laplacian_energy_is_zero_on_flat_images_and_grows_with_detail():
    flat = torch.full((1, 3, 16, 16), 0.3)
    checker = (torch.arange(16).view(1, 16) + torch.arange(16).view(16, 1)) % 2 * 2.0 - 1
    assert laplacian_energy(flat).item() == 0.0
    assert laplacian_energy(checker.expand(1, 3, 16, 16)).item() == 8.0  # |4 * (+-1) - 4 * (-+1)|


def test_tracking_w_avg_moves_it_towards_the_batch_mean_at_the_rate_beta_sets():
    G = make_tiny_generator()
    G.mapping.w_avg.zero_()
    w = torch.ones(4, G.w_dim) * 2
    track_w_avg(G, w, beta=0.9)
    assert torch.allclose(G.mapping.w_avg, torch.full((G.w_dim,), 0.2))


def test_w_avg_error_is_small_for_the_true_mean_and_large_for_zero():
    G = make_tiny_generator()
    G.mapping.w_avg.copy_(mean_w(G, n=8192, seed=1))
    assert w_avg_error(G, n=4096) < 0.05
    G.mapping.w_avg.zero_()
    assert w_avg_error(G, n=4096) > 0.99


def test_a_training_step_tracks_w_avg_and_gives_a_finite_loss_with_mixing_on():
    G = make_tiny_generator(resolution=32, z_dim=Z_DIM, noise=False).requires_grad_(True)
    G.mapping.w_avg.zero_()
    cfg = TrainConfig(resolution=32, batch=4, mixing_prob=1.0, w_avg_beta=0.5)
    loss = batch_loss(G, cfg, make_batch(cfg, step=0))
    loss.backward()
    assert torch.isfinite(loss) and G.mapping.w_avg.abs().sum() > 0
    assert G.synthesis.b4.conv1.affine.weight.grad.abs().sum() > 0
