"""What the editor's special widgets need to know, declared by the node packages: how a port
type's values are shown (its view: a role and a pin colour) and which params the image panel
edits (a param's `editor`: point pairs clicked on the image, or brush strokes painted on it).

The engine names no port type or param of any domain: `nodes` registers its port views when its
types are imported, and declares the editors on its params."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Point = tuple[float, float]

# Roles a port type can play in the editor:
#   image  - values are images the panel and the thumbnails show ([1, 3, H, W] in [-1, 1])
#   code   - values become an image by rendering: through a node type whose required inputs
#            are a `model` and a `code` and which gives an `image`
#   model  - what renders a code
#   pairs  - point pairs a node gives (e.g. where it moved them): see PortView.pairs
#   region - a mask over the image, drawn tinted on it
#   film   - a value replayed frame by frame under the image (the panel's scrubber): see FilmView
ROLES = ("image", "code", "model", "pairs", "region", "film")


@dataclass(frozen=True)
class FilmView:
    """How the editor replays a value of role "film" (e.g. a drag's trajectory) with the model
    feeding its node: `length(value)` frames; `caption(value, i)` names frame i (its step);
    `render(model, value, indices)` gives their images ([n, 3, H, W] in [-1, 1]; a synthesis
    each, so the editor calls it off the UI thread); `points(value, i)` the (handles, targets)
    drawn on frame i; `save(model, value, path, project)` writes the film as an animation file
    (its format from the suffix, one of `suffixes`; `project` is embedded where it can be)."""

    length: Callable[[Any], int]
    caption: Callable[[Any, int], str]
    render: Callable[[Any, Any, list[int]], Any]
    points: Callable[[Any, int], tuple[list[Point], list[Point]]]
    save: Callable[[Any, Any, str, Any], Any]
    suffixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortView:
    """How the editor treats the values of one port type. `pairs` (role "pairs") reads a
    value's point pairs as (first points, second points), e.g. (handles, targets); `film`
    (role "film") replays a value frame by frame."""

    role: str | None = None
    color: tuple[int, int, int] | None = None
    pairs: Callable[[Any], tuple[list[Point], list[Point]]] | None = None
    film: FilmView | None = None

    def __post_init__(self) -> None:
        if self.role is not None and self.role not in ROLES:
            raise ValueError(f"port role {self.role!r} is unknown; use one of {ROLES}")


@dataclass(frozen=True)
class PairsEditor:
    """A list param of point pairs edited by clicks on the image: [{first: [x, y], second:
    [x, y]}, ...]; a click places a `first`, the next its `second`."""

    first: str
    second: str
    unit: str = "pair"

    def pair(self, first: Point, second: Point) -> dict[str, list[float]]:
        return {self.first: list(first), self.second: list(second)}

    def read(self, value: list) -> list[tuple[Point, Point]]:
        return [(tuple(p[self.first]), tuple(p[self.second])) for p in value or []]


@dataclass(frozen=True)
class BrushEditor:
    """A list param of strokes painted on the image: each {points: [[x, y], ...], radius: r,
    mode: paint or erase}, named by the param's own keys and mode values."""

    points: str
    radius: str
    mode: str
    paint: str
    erase: str
    unit: str = "stroke"

    def stroke(self, points: list[list[float]], radius: float, erasing: bool) -> dict[str, Any]:
        return {
            self.points: points,
            self.radius: radius,
            self.mode: self.erase if erasing else self.paint,
        }


_PORT_VIEWS: dict[str, PortView] = {}


def register_port_view(port_type: str, view: PortView) -> None:
    """Declares how the editor shows values of `port_type` (a node package does, at import)."""
    _PORT_VIEWS[port_type] = view


def port_view(port_type: str) -> PortView:
    """The view declared for `port_type`; a plain one (no role, default colour) otherwise."""
    return _PORT_VIEWS.get(port_type, PortView())


_STARTERS: dict[str, Callable[[Any], None]] = {}


def register_starter(name: str, build: Callable[[Any], None]) -> None:
    """Declares a graph a newcomer starts from (`nodegraph edit` with no project, File > New
    from a starter): `build(graph)` adds and links its nodes in an empty Graph."""
    _STARTERS[name] = build


def starters() -> dict[str, Callable[[Any], None]]:
    """The starter graphs node packages declared, by name."""
    return dict(_STARTERS)
