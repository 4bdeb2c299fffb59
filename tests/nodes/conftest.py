"""Fixtures for node-type tests: a tiny generator checkpoint and a graph builder."""

from __future__ import annotations

import pytest

from nodes.gan import save_generator
from tests.tiny import make_tiny_generator


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "tiny32.safetensors"
    save_generator(make_tiny_generator(resolution=32), path)
    return str(path)
