"""Shared fixtures: tiny generators so the suite stays fast on two CPU cores."""

from __future__ import annotations

import pytest
import torch

from nodes.gan import Generator
from tests.tiny import make_tiny_generator

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def tiny_generator() -> Generator:
    return make_tiny_generator()


@pytest.fixture
def tiny_generator_64() -> Generator:
    return make_tiny_generator(resolution=64)
