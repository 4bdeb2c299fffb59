"""Node types by name, and extra CLI commands, from the entry-point groups.

Third-party packages add types through "nodegraph.nodes" and CLI commands through "nodegraph.cli_commands"."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from nodegraph.errors import GraphError
from nodegraph.node import PARAM_TYPES, Node, coerce_param

NODES_GROUP = "nodegraph.nodes"
CLI_COMMANDS_GROUP = "nodegraph.cli_commands"

CliCommandFn = Callable[[list[str]], int]


class Registry:
    """Maps type names to Node subclasses; loads entry points lazily, on the first miss or listing."""

    def __init__(self, load_entry_points: bool = True) -> None:
        self._types: dict[str, type[Node]] = {}
        self._loaded = not load_entry_points
        self.load_errors: list[str] = []

    def register(self, cls: type[Node], replace: bool = False) -> type[Node]:
        """Adds a node type (usable as a class decorator); checks its declarations."""
        _check_declarations(cls)
        existing = self._types.get(cls.type_name)
        if existing is not None and existing is not cls and not replace:
            raise GraphError(
                f"node type {cls.type_name!r} is already registered by {existing.__module__}."
                f"{existing.__qualname__}; pick another type_name or pass replace=True"
            )
        self._types[cls.type_name] = cls
        return cls

    def unregister(self, type_name: str) -> None:
        self._types.pop(type_name, None)

    def get(self, type_name: str) -> type[Node]:
        if type_name not in self._types:
            self.load_entry_points()
        try:
            return self._types[type_name]
        except KeyError:
            known = ", ".join(sorted(self._types)) or "none registered"
            raise GraphError(f"unknown node type {type_name!r}; known types: {known}") from None

    def __contains__(self, type_name: str) -> bool:
        if type_name not in self._types:
            self.load_entry_points()
        return type_name in self._types

    def types(self) -> dict[str, type[Node]]:
        """All node types by name, entry points included, sorted by category then name."""
        self.load_entry_points()
        return dict(sorted(self._types.items(), key=lambda kv: (kv[1].category, kv[0])))

    def load_entry_points(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group=NODES_GROUP):
            try:
                loaded = ep.load()
                classes = loaded() if callable(loaded) and not isinstance(loaded, type) else loaded
                for cls in _as_list(classes):
                    self.register(cls, replace=True)
            except Exception as exc:  # a broken plug-in must not break the engine
                message = f"entry point {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
                self.load_errors.append(message)
                warnings.warn(message, stacklevel=2)


def _as_list(classes: object) -> Iterable[type[Node]]:
    if isinstance(classes, type):
        return [classes]
    if isinstance(classes, dict):
        return list(classes.values())
    return list(classes)  # type: ignore[arg-type]


def _check_declarations(cls: type[Node]) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise GraphError(f"{cls!r} is not a subclass of nodegraph.Node")
    if not cls.type_name:
        raise GraphError(f"{cls.__qualname__} has no type_name; set the class attribute")
    for kind, ports in (("input", cls.inputs), ("output", cls.outputs), ("param", cls.params)):
        names = [p.name for p in ports]
        if len(names) != len(set(names)):
            raise GraphError(
                f"node type {cls.type_name!r} declares a duplicate {kind} name in {names}"
            )
    for p in cls.params:
        if p.type not in PARAM_TYPES:
            raise GraphError(
                f"node type {cls.type_name!r} param {p.name!r} has unsupported type {p.type!r}"
            )
        try:
            coerce_param(p, p.default)
        except ValueError as exc:
            raise GraphError(
                f"node type {cls.type_name!r} param {p.name!r} has a bad default: {exc}"
            ) from None


def load_cli_commands() -> dict[str, tuple[str, CliCommandFn]]:
    """Extra CLI commands from "nodegraph.cli_commands": {name: (one-line help, fn(argv) -> exit code)}.

    An entry point gives a callable returning {name: fn} or {name: (help, fn)}; help defaults to
    the first line of fn's docstring."""
    commands: dict[str, tuple[str, CliCommandFn]] = {}
    for ep in entry_points(group=CLI_COMMANDS_GROUP):
        try:
            loaded = ep.load()
            table = loaded() if callable(loaded) else loaded
            for name, entry in dict(table).items():
                if isinstance(entry, tuple):
                    commands[name] = (str(entry[0]), entry[1])
                else:
                    doc = (entry.__doc__ or "").strip().splitlines()
                    commands[name] = (doc[0] if doc else "", entry)
        except Exception as exc:
            warnings.warn(
                f"command entry point {ep.name!r} ({ep.value}) failed to load: {exc}", stacklevel=2
            )
    return commands


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The process-wide registry every Graph uses unless given another."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry()
    return _REGISTRY


def register(cls: type[Node], replace: bool = False) -> type[Node]:
    """Registers a node type in the process-wide registry (also a class decorator)."""
    return registry().register(cls, replace=replace)
