"""Fingerprints: a cache key made of named parts (type, version, params, inputs) that explains itself.

sha256 over the parts; comparing two fingerprints says why a node has to run again."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

ALWAYS_PREFIX = "always:"


def tensor_digest(tensor: Any) -> str:
    """A content digest of a tensor or ndarray: dtype, shape and sha256 of its bytes."""
    import numpy as np

    if isinstance(tensor, np.ndarray):
        data = np.ascontiguousarray(tensor)
        dtype, shape, raw = str(data.dtype), list(data.shape), data.tobytes()
    else:
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        dtype, shape = str(tensor.dtype).removeprefix("torch."), list(tensor.shape)
        raw = flat.view(__import__("torch").uint8).numpy().tobytes() if flat.numel() else b""
    return f"tensor({dtype}, {shape}, sha256={hashlib.sha256(raw).hexdigest()[:16]})"


def _json_default(value: Any) -> Any:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return {"$tensor": tensor_digest(value)}
    raise TypeError(f"cannot fingerprint a {type(value).__name__}")


def canonical(value: Any) -> str:
    """Canonical JSON of a param value; tensors by content digest."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return tensor_digest(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


@dataclass(frozen=True)
class Fingerprint:
    """Named parts and their sha256. `sources` (input port -> upstream node) only explains."""

    parts: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @cached_property
    def digest(self) -> str:
        text = json.dumps(self.parts, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def __str__(self) -> str:
        return f"fp:{self.digest[:12]}"

    def describe(self) -> str:
        """One line per part, for humans."""
        lines = [str(self)] + [f"  {name} = {_short(value)}" for name, value in self.parts.items()]
        return "\n".join(lines)

    def changes(self, previous: Fingerprint | None) -> list[str]:
        """What differs from `previous`, in words ("param seed changed 3 -> 4")."""
        if previous is None:
            return ["first run"]
        out = []
        for name in dict.fromkeys([*previous.parts, *self.parts]):
            old, new = previous.parts.get(name), self.parts.get(name)
            if old != new:
                out.append(self._describe_change(name, old, new, previous))
        return out

    def explain(self, previous: Fingerprint | None) -> str:
        return "; ".join(self.changes(previous)) or "unchanged"

    def _describe_change(
        self, name: str, old: str | None, new: str | None, previous: Fingerprint
    ) -> str:
        kind, _, key = name.partition(".")
        if kind == "impure":
            return (
                "not pure: always re-runs"
                if (new or "").startswith(ALWAYS_PREFIX)
                else "not pure: outside state changed"
            )
        if kind == "input":
            src, old_src = self.sources.get(key), previous.sources.get(key)
            if new is None or new == "unlinked":
                return f"input {key} unlinked"
            if old_src and src != old_src:
                return f"input {key} now from node {src} (was {old_src})"
            return f"input {key} changed (from node {src})"
        label = {"type": "type", "version": "type version", "device": "device"}.get(
            kind, f"{kind} {key}"
        )
        if old is None:
            return f"{label} added: {_short(new)}"
        if new is None:
            return f"{label} removed"
        return f"{label} changed {_short(old)} -> {_short(new)}"


def _short(value: str | None, limit: int = 40) -> str:
    value = str(value)
    return value if len(value) <= limit else value[: limit - 3] + "..."


def input_part(upstream: Fingerprint, output_port: str) -> str:
    """The part an input contributes: the upstream node's digest and which output it reads."""
    return f"{upstream.digest}:{output_port}"
