"""Fixtures for inversion tests: a 16 px generator and an image it made itself."""

from __future__ import annotations

import pytest
import torch

from nodes.gan import Generator, save_generator
from tests.tiny import make_tiny_generator


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on two shared cores a second thread makes these tests several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def generator16() -> Generator:
    return make_tiny_generator(resolution=16)


@pytest.fixture
def own_image(generator16) -> torch.Tensor:
    """An image the generator itself made (seed 3, psi 0.7): it has an exact inversion."""
    with torch.no_grad():
        return generator16.synthesis(generator16.random_ws(3, truncation_psi=0.7)).clamp(-1, 1)


@pytest.fixture(scope="session")
def checkpoint16(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ckpt") / "tiny16.safetensors"
    save_generator(make_tiny_generator(resolution=16), path)
    return str(path)
