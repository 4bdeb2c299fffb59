"""Engine options are checked before any worker starts; a missing Ray says how to install it."""

from __future__ import annotations

import sys

import pytest

from nodegraph.batching.dispatch import EngineOptions
from nodegraph.batching.ray_pool import import_ray
from nodegraph.errors import BatchError


@pytest.mark.parametrize(
    "options, message",
    [(EngineOptions("dask"), "unknown --engine 'dask'"), (EngineOptions(workers=0), "--workers 0"),
     (EngineOptions(cpus_per_job=0), "--cpus-per-job must be > 0"),
     (EngineOptions(jobs_per_worker=0), "--jobs-per-worker 0")],
)
def test_bad_engine_options_are_refused_naming_the_option(options, message):
    with pytest.raises(BatchError, match=message):
        options.check()


def test_the_ray_engine_without_ray_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(BatchError, match=r"pip install 'nodegraph\[ray\]'"):
        import_ray()
