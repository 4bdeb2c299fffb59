"""What reading a foreign checkpoint may allocate beyond the file's own bytes (docs/PROJECTS.md,
"Limits"): numpy arrays a pickle declares by shape, and what the torch zips in it inflate to.

Both are checked before the allocation: a 270-byte pickle can not make numpy build 240 MB, nor a
1 MB zip inflate to 1 GB. One LoadBudget per file, shared by every record in it."""

from __future__ import annotations

import math
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from nodegraph.budgets import (
    MAX_ARRAY_ELEMENTS,
    MAX_PICKLE_RECORD_BYTES,
    MAX_TENSOR_ELEMENTS,
    MAX_ZIP_ENTRIES,
)

from .checkpoint import CheckpointError

MAX_INFLATED_BYTES = 4 * MAX_TENSOR_ELEMENTS  # float32 storages of one checkpoint together
INFLATE_SLACK_BYTES = MAX_PICKLE_RECORD_BYTES  # what a torch zip may inflate to beyond its size
_CHUNK = 1024**2  # inflating reads this much at a time


class LoadBudgetError(CheckpointError):
    """A checkpoint declares more data than its bytes hold, or more than a generator needs."""


@dataclass
class LoadBudget:
    """The running totals of one file: array elements numpy's `_reconstruct` is asked to
    allocate (real pickles ask for none: numpy pickles an array's bytes in the file) and the
    uncompressed bytes of torch zips (torch.save stores their entries uncompressed)."""

    source: str
    file_bytes: int
    array_elements: int = 0
    inflated_bytes: int = 0

    def charge_array(self, shape: tuple, dtype: np.dtype) -> None:
        """LoadBudgetError unless an array of shape and dtype fits what is left."""
        if dtype.hasobject or dtype.kind not in "biufc":
            raise LoadBudgetError(
                f"{self.source}: a numpy array of dtype {str(dtype)[:40]!r} in the pickle; only "
                "arrays of numbers are read from a checkpoint"
            )
        if not all(isinstance(n, int) and 0 <= n for n in shape):
            raise LoadBudgetError(f"{self.source}: a numpy array of malformed shape in the pickle")
        self.array_elements += math.prod(shape)
        if self.array_elements > MAX_ARRAY_ELEMENTS:
            raise LoadBudgetError(
                f"{self.source}: the pickle declares numpy arrays of {self.array_elements:,} "
                f"elements by shape alone; the limit is {MAX_ARRAY_ELEMENTS:,} (real checkpoints "
                "store an array's bytes in the file): this is not a network pickle"
            )

    def charge_inflated(self, nbytes: int, entry: str) -> None:
        """LoadBudgetError unless `nbytes` more uncompressed zip bytes fit what is left."""
        self.inflated_bytes += nbytes
        limit = min(self.file_bytes + INFLATE_SLACK_BYTES, MAX_INFLATED_BYTES)
        if self.inflated_bytes > limit:
            raise LoadBudgetError(
                f"{self.source}: its torch zip entries inflate to {self.inflated_bytes:,} bytes "
                f"(at {entry!r}); the limit is {limit:,}, the file's size plus 64 MiB (torch.save "
                "does not compress): this is not a checkpoint"
            )


def check_torch_zip(file: BinaryIO, budget: LoadBudget) -> None:
    """LoadBudgetError unless the torch.save zip in `file` is within budget: its central
    directory's declared sizes are checked before any entry is read, then each compressed
    entry is inflated in 1 MiB pieces to check its actual size against its declared one."""
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise LoadBudgetError(
                    f"{budget.source}: a torch zip of {len(entries):,} entries; the limit is "
                    f"{MAX_ZIP_ENTRIES:,}"
                )
            for entry in entries:
                _check_declared(entry, budget)
            for entry in entries:
                if entry.compress_type != zipfile.ZIP_STORED:
                    _check_inflated(archive, entry, budget.source)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as e:
        raise LoadBudgetError(
            f"{budget.source}: a damaged torch zip ({type(e).__name__}: {e})"
        ) from None


def _check_declared(entry: zipfile.ZipInfo, budget: LoadBudget) -> None:
    if entry.filename.endswith(".pkl") and entry.file_size > MAX_PICKLE_RECORD_BYTES:
        raise LoadBudgetError(
            f"{budget.source}: the torch zip's {entry.filename!r} is {entry.file_size:,} bytes "
            f"uncompressed; the limit is {MAX_PICKLE_RECORD_BYTES:,}"
        )
    if entry.compress_type == zipfile.ZIP_STORED and entry.file_size != entry.compress_size:
        raise LoadBudgetError(
            f"{budget.source}: the torch zip's {entry.filename!r} is stored uncompressed yet "
            f"declares {entry.file_size:,} bytes in {entry.compress_size:,}: a damaged zip"
        )
    budget.charge_inflated(entry.file_size, entry.filename)


def _check_inflated(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, source: str) -> None:
    """zipfile stops at the declared size and checks the CRC: more data than declared, or less,
    fails here with at most one piece in memory."""
    with archive.open(entry) as stream:
        while stream.read(_CHUNK):
            pass


class PickledArray(np.ndarray):
    """A numpy array as a pickle rebuilds it (numpy's `_reconstruct`, then BUILD with the
    array's state): numbers only, its bytes exactly what its shape needs, checked before numpy
    sees them (numpy reads past a short object list: a crash, not an error). A ValueError,
    which the pickle's reader reports with the file's name."""

    def __setstate__(self, state) -> None:
        try:
            _, shape, dtype, _, raw = state
            dtype = np.dtype(dtype)
            shape = tuple(shape)
        except (TypeError, ValueError):
            raise ValueError("a malformed numpy array state in the pickle") from None
        if dtype.hasobject or dtype.kind not in "biufc" or not isinstance(raw, bytes | bytearray):
            raise ValueError(
                f"a numpy array of dtype {str(dtype)[:40]!r} in the pickle; only arrays of "
                "numbers, stored as bytes, are read from a checkpoint"
            )
        if (
            not all(isinstance(n, int) and n >= 0 for n in shape)
            or len(raw) != math.prod(shape) * dtype.itemsize
        ):
            raise ValueError(
                f"a numpy array of shape {str(shape)[:60]} in the pickle whose bytes do not match it"
            )
        super().__setstate__(state)


class _NdarrayName:
    """What the pickle's `numpy.ndarray` global resolves to: a name `_reconstruct` takes, not a
    class the pickle could call to allocate any shape."""


def numpy_globals(budget: LoadBudget) -> dict[tuple[str, str], object]:
    """The numpy globals a checkpoint pickle may name, `_reconstruct` charged to budget."""
    try:
        from numpy._core import multiarray  # numpy >= 2; numpy.core is a deprecated alias of it
    except ImportError:
        from numpy.core import multiarray

    ndarray_name = _NdarrayName()

    def reconstruct(subtype, shape, dtype):
        if subtype is not ndarray_name:
            raise LoadBudgetError(
                f"{budget.source}: numpy _reconstruct of a non-array in the pickle"
            )
        dtype = np.dtype(dtype)
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        budget.charge_array(shape, dtype)
        return multiarray._reconstruct(PickledArray, shape, dtype)

    names: dict[tuple[str, str], object] = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        names[(module, "_reconstruct")] = reconstruct
        names[(module, "scalar")] = multiarray.scalar
    names[("numpy", "dtype")] = np.dtype
    names[("numpy", "ndarray")] = ndarray_name
    return names
