"""Fixtures for the model manager's tests: a local HTTP server, an empty cache, a tiny pickle."""

from __future__ import annotations

import pytest

from tests.gan.nvidia_pickle import network_pickle_bytes
from tests.models.server import start_server
from tests.tiny import make_tiny_generator


@pytest.fixture
def server():
    state, httpd = start_server()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty model cache (NODEGRAPH_CACHE), no mirror, and no proxy between us and 127.0.0.1."""
    root = tmp_path / "cache"
    monkeypatch.setenv("NODEGRAPH_CACHE", str(root))
    monkeypatch.delenv("NODEGRAPH_MODEL_MIRROR", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return root


@pytest.fixture(scope="session")
def tiny_pickle(tmp_path_factory):
    """(bytes of an NVIDIA-format network pickle of a tiny generator, the generator, the marker
    file that would appear if anything ran its module source)."""
    G = make_tiny_generator(resolution=16)
    marker = tmp_path_factory.mktemp("marker") / "executed"
    return network_pickle_bytes(G, str(marker)), G, marker
