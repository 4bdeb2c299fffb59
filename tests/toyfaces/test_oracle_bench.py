"""`bench landmarks-oracle` optimises W+ on the true landmark distance: it moves the landmarks
towards the targets and the figures it prints are those of its pairs."""

from __future__ import annotations

import torch

from nodes.toyfaces.bench import PAIR_SEEDS, load_models
from nodes.toyfaces.oracle_bench import oracle_pair


def test_the_oracle_pulls_the_landmarks_to_the_targets():
    torch.set_num_threads(1)
    G, detector = load_models(None, None, "cpu")
    G.requires_grad_(False)
    detector.requires_grad_(False)
    seed = PAIR_SEEDS.start
    before = oracle_pair(G, detector, seed, steps=0, lr=0.02, layers=6)
    after = oracle_pair(G, detector, seed, steps=40, lr=0.02, layers=6)
    assert after["oracle_distance_px"] < 0.8 * before["oracle_distance_px"]
    assert before["oracle_db"] == before["start_db"]  # no step: the start image itself
    assert after["geometry_rows_db"] > 28 and after["generator_db"] > 28  # the model knows the face


def test_the_landmark_equivalent_target_scores_what_the_handles_can_say():
    """The target with the landmark-blind parameters of the start: its render is near the
    target's (pair 0: 29.7 dB), and G draws it near that (27.4 dB), far above the start."""
    G, detector = load_models(None, None, "cpu")
    G.requires_grad_(False)
    detector.requires_grad_(False)
    figures = oracle_pair(G, detector, PAIR_SEEDS.start, steps=0, lr=0.02, layers=6)
    assert figures["equivalent_render_db"] > 28
    assert figures["equivalent_generator_db"] > 26
    assert figures["equivalent_generator_db"] > figures["start_db"] + 5
    assert figures["equivalent_generator_db"] < figures["equivalent_render_db"]  # G adds its error


def test_the_z_oracle_pulls_the_landmarks_through_the_mapping_network():
    torch.set_num_threads(1)
    G, detector = load_models(None, None, "cpu")
    G.requires_grad_(False)
    detector.requires_grad_(False)
    before = oracle_pair(G, detector, PAIR_SEEDS.start, steps=0, lr=0.05, layers=6, space="z")
    after = oracle_pair(G, detector, PAIR_SEEDS.start, steps=30, lr=0.05, layers=6, space="z")
    assert before["oracle_db"] == before["start_db"]  # mapping(z1)'s rows are ws1's
    assert after["oracle_distance_px"] < 0.8 * before["oracle_distance_px"]


def test_the_landmark_warp_moves_the_start_render_towards_the_target_but_not_to_it():
    """Pair 0: moving the start face's content with its landmarks explains part of the target
    (the start scores 18.6 dB, the warp 21.4) but far less than the landmark-equivalent face."""
    G, detector = load_models(None, None, "cpu")
    figures = oracle_pair(G, detector, PAIR_SEEDS.start, steps=0, lr=0.02, layers=6)
    assert figures["warp_db"] > figures["start_db"] + 1
    assert figures["equivalent_render_db"] > figures["warp_db"] + 5


def test_the_command_prints_each_pair_and_the_summary_as_json(capsys):
    import json

    from nodes.toyfaces.oracle_bench import run_bench

    assert run_bench(["--pairs", "1", "--steps", "0", "--fit-draws", "1", "--fit-noise", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (pair,) = out["pairs"]
    assert pair["seed"] == PAIR_SEEDS.start
    assert pair["fit_distance_px"] < 0.01  # exact targets: the fit is the landmark-equivalent face
    assert abs(pair["fit_db"] - pair["equivalent_render_db"]) < 0.05
    assert out["summary"]["fit_db_min"] == pair["fit_db"]
