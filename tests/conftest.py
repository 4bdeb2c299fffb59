"""Shared fixtures: tiny generators so the suite stays fast on two CPU cores."""

from __future__ import annotations

import pytest
import torch

from nodes.gan import Generator
from tests.tiny import make_tiny_generator

# One torch thread per test process: the suite runs as 2 pytest-xdist workers on 2 cores, and
# oversubscribed torch threads slow it down many times over.
torch.set_num_threads(1)


@pytest.fixture
def tiny_generator() -> Generator:
    return make_tiny_generator()


@pytest.fixture
def tiny_generator_64() -> Generator:
    return make_tiny_generator(resolution=64)
