"""The Node base class: declared inputs, outputs and params, and compute(ctx, **inputs).

A node type is a subclass with class attributes; the engine validates params against them."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from nodegraph.budgets import brief
from nodegraph.errors import GraphError

if TYPE_CHECKING:
    from nodegraph.context import Context

ANY = "ANY"
PARAM_TYPES = (int, float, str, bool, list, dict, "tensor", "path")


@dataclass(frozen=True)
class Input:
    name: str
    type: str
    optional: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Output:
    name: str
    type: str
    doc: str = ""


@dataclass(frozen=True)
class Param:
    """A node parameter. `default=None` makes None an allowed value (e.g. an optional tensor)."""

    name: str
    type: Any  # one of PARAM_TYPES
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple | list | None = None
    doc: str = ""
    step: float | None = None  # a hint for editor sliders
    writes: bool = False  # a "path" param the node writes to: held to the trust rule before a run
    editor: Any = (
        None  # how the editor's image panel edits it (nodegraph.views: PairsEditor, BrushEditor)
    )

    @property
    def type_label(self) -> str:
        return self.type if isinstance(self.type, str) else self.type.__name__

    def describe_allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        bounds = []
        if self.min is not None:
            bounds.append(f">= {self.min}")
        if self.max is not None:
            bounds.append(f"<= {self.max}")
        article = "an" if self.type_label[0] in "aeiou" else "a"
        text = f"{article} {self.type_label}" + (" " + " and ".join(bounds) if bounds else "")
        return text + (" or None" if self.default is None else "")


def types_compatible(output_type: str, input_type: str) -> bool:
    """An output links to an input of the same port type; "ANY" on either side accepts all."""
    return output_type == input_type or ANY in (output_type, input_type)


def file_key(path: str | os.PathLike) -> str:
    """An impure key for a node that reads a file: its size and modification time."""
    try:
        st = os.stat(path)
    except OSError:
        return f"missing:{os.fspath(path)}"
    return f"{os.fspath(path)}:size={st.st_size}:mtime_ns={st.st_mtime_ns}"


def coerce_param(param: Param, value: Any) -> Any:
    """Returns `value` converted to the param's type; raises ValueError saying what is allowed."""
    if value is None:
        if param.default is None:
            return None
        raise ValueError(f"None is not allowed; give {param.describe_allowed()}")
    kind = param.type
    wrong = ValueError(f"{brief(value)} is not {param.describe_allowed()}")
    if kind is bool:
        if not isinstance(value, bool):
            raise wrong
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise ValueError(f"{brief(value)} is not an integer; give {param.describe_allowed()}")
        value = int(value)
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong
        value = float(value) if abs(value) < 1e308 else math.inf
        if not math.isfinite(value):
            raise ValueError(f"{brief(value)} is not finite; give {param.describe_allowed()}")
    elif kind is str:
        if not isinstance(value, str):
            raise wrong
    elif kind == "path":
        if not isinstance(value, str | os.PathLike):
            raise wrong
        value = os.fspath(value)
    elif kind is list:
        if not isinstance(value, list | tuple):
            raise wrong
        value = copy.deepcopy(list(value))
    elif kind is dict:
        if not isinstance(value, dict):
            raise wrong
        value = copy.deepcopy(value)
    elif kind == "tensor":
        value = _as_tensor(value, wrong)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if (
            param.min is not None
            and value < param.min
            or param.max is not None
            and value > param.max
        ):
            raise ValueError(f"{brief(value)} is out of range; give {param.describe_allowed()}")
    if param.choices is not None and value not in param.choices:
        raise ValueError(f"{brief(value)} is not allowed; give {param.describe_allowed()}")
    return value


def _as_tensor(value: Any, wrong: Exception) -> Any:
    import numpy as np
    import torch

    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if not isinstance(value, torch.Tensor):
        raise wrong
    return value.detach().clone()


class Node:
    """Base class of node types. Subclasses declare ports and params and implement compute.

    compute(self, ctx, **inputs) gets one keyword per input (None for an unlinked optional input)
    and returns {output name: value}. `self.ctx` is also set before impure_key and compute."""

    type_name: ClassVar[str] = ""
    category: ClassVar[str] = "misc"
    version: ClassVar[int] = 1
    doc: ClassVar[str] = ""
    inputs: ClassVar[list[Input]] = []
    outputs: ClassVar[list[Output]] = []
    params: ClassVar[list[Param]] = []
    pure: ClassVar[bool] = True
    is_output: ClassVar[bool] = False
    # True when compute can end early on CancelToken.finish() and keep its result so far: it
    # then calls ctx.settle(**params) with the params that reproduce that result.
    stops_early: ClassVar[bool] = False

    ctx: Context

    def compute(self, ctx: Context, **inputs: Any) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__}.compute is not implemented")

    def impure_key(self, params: dict[str, Any]) -> str:
        """For `pure = False` types: a key that changes when the outside world changes (e.g.
        `file_key(self.ctx.resolve_path(params["path"]))`). The default re-runs every time."""
        return f"always:{os.urandom(8).hex()}"

    @classmethod
    def planned_writes(
        cls,
        params: dict[str, Any],
        project_bytes: Callable[[], int],
        linked: frozenset[str] = frozenset(),
    ) -> tuple[int, int]:
        """(files, bytes) this node will write at least, known before it runs: checked against
        the run's write budget (nodegraph/bound.py) before anything runs. `project_bytes()` is
        the size of the project a PNG would embed; `linked` names the inputs that are linked.
        Default: a file per write param that is set."""
        return sum(1 for p in cls.params if p.writes and params.get(p.name)), 0

    @classmethod
    def validate(cls, params: dict[str, Any]) -> None:
        """Optional hook for checks across params; raise ValueError with a message saying the fix."""

    # --- declarations, looked up by name ---
    @classmethod
    def input(cls, name: str) -> Input | None:
        return next((p for p in cls.inputs if p.name == name), None)

    @classmethod
    def output(cls, name: str) -> Output | None:
        return next((p for p in cls.outputs if p.name == name), None)

    @classmethod
    def param(cls, name: str) -> Param | None:
        return next((p for p in cls.params if p.name == name), None)

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {p.name: copy.deepcopy(p.default) for p in cls.params}

    @classmethod
    def check_params(
        cls, node_id: str, params: dict[str, Any], base: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Validates and coerces `params` (merged over `base` or the defaults); GraphError on a fault."""
        merged = dict(base if base is not None else cls.default_params())
        for name, value in params.items():
            decl = cls.param(name)
            if decl is None:
                known = ", ".join(p.name for p in cls.params) or "none"
                raise GraphError(
                    f"node {node_id!r} ({cls.type_name}) has no param {name!r}; its params: {known}"
                )
            try:
                merged[name] = coerce_param(decl, value)
            except ValueError as exc:
                raise GraphError(
                    f"node {node_id!r} ({cls.type_name}) param {name!r}: {exc}"
                ) from None
        try:
            cls.validate(merged)
        except (ValueError, TypeError) as exc:
            raise GraphError(f"node {node_id!r} ({cls.type_name}): {exc}") from None
        return merged
