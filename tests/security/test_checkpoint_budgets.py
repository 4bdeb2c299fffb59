"""Issue 26, row 3: a checkpoint that declares more data than its bytes hold is refused before
anything is allocated, in a fresh `nodegraph convert` / `nodegraph info` process (exit 2, one
line, peak RSS under 500 MB), and real numpy arrays and torch zips still read."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from nodes.gan.convert import RestrictedUnpickler
from nodes.gan.load_budget import LoadBudget, LoadBudgetError, check_torch_zip
from tests.security.conftest import snapshot
from tests.security.hostile import (
    World,
    checkpoint_file,
    deflated_zeros_zip,
    lying_size_pt,
    reconstruct_pickle,
    zeros_in_pickle,
    zeros_rosinality_pt,
)
from tests.security.subprocess_cli import check

INFLATE = "torch zip entries inflate to 1,000,000,"


@pytest.mark.parametrize(
    "name, content, command, fragment",
    [
        ("recon.pkl", reconstruct_pickle, "convert", "numpy arrays of 30,000,000 elements"),
        ("recon.pkl", reconstruct_pickle, "info", "numpy arrays of 30,000,000 elements"),
        ("zeros.pt", zeros_rosinality_pt, "convert", INFLATE),
        ("zeros.pt", zeros_rosinality_pt, "info", INFLATE),
        ("zeros.pkl", zeros_in_pickle, "convert", INFLATE),
        ("lying.pt", lying_size_pt, "info", "Bad CRC-32 for file 'archive/data/0'"),
    ],
    ids=["reconstruct-convert", "reconstruct-info", "pt-convert", "pt-info", "pkl", "lying-size"],
)
def test_a_checkpoint_declaring_more_than_it_holds_is_refused_early(
    tmp_path, name, content, command, fragment
):
    world = World(tmp_path)
    argv = checkpoint_file(name, content, command)(world)
    before = snapshot(tmp_path, skip=tmp_path / "home")
    check(tmp_path, argv, 2, fragment)
    assert snapshot(tmp_path, skip=tmp_path / "home") == before  # no out.safetensors either


def _unpickle(data: bytes):
    return RestrictedUnpickler(io.BytesIO(data), source="t.pkl").load()


@pytest.mark.parametrize("protocol", [2, 4])
def test_numpy_arrays_pickled_by_numpy_still_read(protocol):
    array = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    back = _unpickle(pickle.dumps({"a": array, "s": np.float64(2.5)}, protocol=protocol))
    assert np.array_equal(back["a"], array) and back["a"].dtype == np.float32
    assert torch.from_numpy(back["a"]).sum() == 15 and back["s"] == 2.5


def test_an_object_array_is_refused_not_rebuilt():
    # numpy's own BUILD of an object array whose list is short reads past it (a crash)
    with pytest.raises(ValueError, match="dtype 'object'"):
        _unpickle(pickle.dumps(np.array([1, None], dtype=object), protocol=2))


def test_the_pickle_can_not_call_ndarray_to_allocate():
    reduce_ndarray = b"\x80\x02cnumpy\nndarray\nJ\x00\xe1\xf5\x05\x85\x85R."  # ndarray((1e8,))
    with pytest.raises(TypeError, match="not callable"):
        _unpickle(reduce_ndarray)


def test_a_torch_zip_within_its_size_passes_and_a_deflated_one_is_charged():
    saved = io.BytesIO()
    torch.save({"w": torch.ones(1000)}, saved)
    check_torch_zip(io.BytesIO(saved.getvalue()), LoadBudget("a.pt", len(saved.getvalue())))
    deflated = deflated_zeros_zip(lambda tensor: {"w": tensor})  # 1 GB in ~1 MB
    with pytest.raises(LoadBudgetError, match="the file's size plus 64 MiB"):
        check_torch_zip(io.BytesIO(deflated), LoadBudget("b.pt", len(deflated)))
