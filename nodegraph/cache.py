"""The result cache: fingerprint digest -> a node's outputs, least recently used out first.

Results stay on the device they were made on; the budget counts tensor bytes wherever they live.
An entry of a node that wrote files also keeps each file's state as written (`files`), so the
evaluator can tell that a file was since deleted or changed and the node must write it again."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections import OrderedDict
from typing import Any

DEFAULT_BUDGET = 4 * 1024**3


def sizeof(value: Any, _seen: set[int] | None = None) -> int:
    """Approximate bytes held by a value: tensors and arrays by their data, containers recursively."""
    seen = _seen if _seen is not None else set()
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if hasattr(value, "element_size") and hasattr(value, "nelement"):  # torch.Tensor
        return int(value.element_size() * value.nelement())
    if hasattr(value, "nbytes") and hasattr(value, "dtype"):  # numpy
        return int(value.nbytes)
    if isinstance(value, dict):
        return sum(sizeof(k, seen) + sizeof(v, seen) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return sum(sizeof(v, seen) for v in value) + 8 * len(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(sizeof(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    if hasattr(value, "parameters") and hasattr(value, "buffers"):  # torch.nn.Module
        tensors = [*value.parameters(), *value.buffers()]
        return sum(sizeof(t, seen) for t in tensors)
    return sys.getsizeof(value, 64)


class Cache:
    """LRU map of fingerprint digest -> outputs dict, bounded by `budget_bytes`.

    The most recent entry is kept even when it alone exceeds the budget."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()
        self._files: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self.bytes = 0

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._entries

    def put(self, key: str, outputs: dict[str, Any], files: dict[str, str] | None = None) -> None:
        """Stores `outputs` under `key`; `files` maps each file the node wrote to its state
        then (nodegraph.node.file_key)."""
        size = sizeof(outputs)
        with self._lock:
            if key in self._entries:
                self.bytes -= self._entries.pop(key)[1]
            self._entries[key] = (outputs, size)
            self._files.pop(key, None)
            if files:
                self._files[key] = dict(files)
            self.bytes += size
            while self.bytes > self.budget_bytes and len(self._entries) > 1:
                evicted_key, (_, evicted) = self._entries.popitem(last=False)
                self._files.pop(evicted_key, None)
                self.bytes -= evicted

    def files(self, key: str) -> dict[str, str]:
        """The files the entry's node wrote, with their state as written ({} for none)."""
        with self._lock:
            return dict(self._files.get(key, {}))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._files.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
