"""Graph queries the editor's views ask: which image a node shows, what is upstream, what a run
touches, which points to draw, where a new node goes, how a file is named, how a drag continues.

Plain functions over the engine's Graph: no Dear PyGui here, so they are tested without a display.
What a port or param is for comes from what the node types declare (nodegraph.views: a port
type's role, a param's editor), never from their names."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from nodegraph import Graph
from nodegraph.fingerprint import canonical
from nodegraph.node import Param
from nodegraph.views import BrushEditor, PairsEditor, port_view

PROJECT_SUFFIX = ".ngproj.json"
DEFAULT_PROJECT_NAME = "untitled" + PROJECT_SUFFIX
STAGE_DX = 230.0  # Continue puts the next stage in a new column this far right


# --- which image a node shows ---------------------------------------------------------------
@dataclass
class Source:
    """Where the panel's image comes from: an image output, or a code output to render."""

    node: str
    port: str
    render_with: tuple[str, str] | None = None  # the model output to render the code with


def role(port_type: str) -> str | None:
    """What a port type is for in the editor (nodegraph.views.ROLES), as its package declared."""
    return port_view(port_type).role


def output_with_role(g: Graph, node_id: str, port_role: str) -> str | None:
    """The node's first output whose port type plays `port_role` (e.g. "image"), or None."""
    return next((o.name for o in g.type_of(node_id).outputs if role(o.type) == port_role), None)


def input_with_role(g: Graph, node_id: str, port_role: str) -> str | None:
    """The node's first input whose port type plays `port_role`, or None."""
    return next((i.name for i in g.type_of(node_id).inputs if role(i.type) == port_role), None)


def image_source(g: Graph, node_id: str) -> Source | None:
    """The image relevant to `node_id`: its own image output, else the image its consumer edits
    (the consumer's code input: an upstream image beside it, or that code rendered)."""
    cls = g.type_of(node_id)
    own = output_with_role(g, node_id, "image")
    if own is not None:
        return Source(node_id, own)
    latent = output_with_role(g, node_id, "code")
    if latent is not None:
        gen = generator_feeding(g, node_id)
        return Source(node_id, latent, gen) if gen else None
    for link in g.links_from(node_id):
        feeds = g.links_into(link.dst)
        for decl in g.type_of(link.dst).inputs:
            if role(decl.type) == "code" and decl.name in feeds:
                upstream = feeds[decl.name]
                image = output_with_role(g, upstream.src, "image")
                if image is not None:
                    return Source(upstream.src, image)
                gen = generator_feeding(g, link.dst) or generator_feeding(g, upstream.src)
                return Source(upstream.src, upstream.output, gen) if gen else None
    for decl in cls.inputs:  # e.g. a mask with its size from a linked image
        link = g.links_into(node_id).get(decl.name)
        if link is not None and role(decl.type) in ("image", "code"):
            return image_source(g, link.src)
    return None


def input_image_source(g: Graph, node_id: str) -> Source | None:
    """The image a node starts from: that of what feeds its code input (a drag's "before")."""
    for decl in g.type_of(node_id).inputs:
        link = g.links_into(node_id).get(decl.name)
        if role(decl.type) == "code" and link is not None:
            return image_source(g, link.src)
    return None


def generator_feeding(g: Graph, node_id: str) -> tuple[str, str] | None:
    """(node, output) linked to the node's model input, if any."""
    for decl in g.type_of(node_id).inputs:
        link = g.links_into(node_id).get(decl.name)
        if role(decl.type) == "model" and link is not None:
            return (link.src, link.output)
    return None


def edited_param(g: Graph, node_id: str | None) -> Param | None:
    """The param the image panel edits on this node: the first one declaring an editor."""
    if node_id is None:
        return None
    return next((p for p in g.type_of(node_id).params if p.editor is not None), None)


def editing_mode(g: Graph, node_id: str | None) -> str:
    """What the image panel does for a node: "pairs" (its param with a PairsEditor: click point
    pairs), "brush" (a BrushEditor: paint strokes), else "view"."""
    param = edited_param(g, node_id)
    if param is not None and isinstance(param.editor, PairsEditor):
        return "pairs"
    if param is not None and isinstance(param.editor, BrushEditor):
        return "brush"
    return "view"


# --- upstream, downstream, what a run touches -------------------------------------------------
def upstream_of(g: Graph, node_id: str) -> set[str]:
    """`node_id` and every node it depends on."""
    seen, todo = set(), [node_id]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(link.src for link in g.links_into(n).values())
    return seen


def run_closure(g: Graph, targets: Iterable[str]) -> set[str]:
    """Every node an evaluation of `targets` reads: the targets and all they depend on."""
    nodes: set[str] = set()
    for target in targets:
        if target in g:
            nodes |= upstream_of(g, target)
    return nodes


def upstream_signature(g: Graph, node_id: str) -> str:
    """Changes exactly when something the node's value depends on changes (types, params,
    links upstream; not positions): a shown value is current while its signature is."""
    nodes = sorted(upstream_of(g, node_id))
    parts = [(n, g.type_of(n).type_name, canonical(g.params(n))) for n in nodes]
    links = sorted(str(link) for link in g.links if link.dst in nodes)
    return canonical([parts, links])


def default_selection(g: Graph) -> str | None:
    """The node whose image to show first: the last node (in link order) with an image output."""
    if len(g) == 0:
        return None
    order = topological(g)
    with_image = [n for n in order if output_with_role(g, n, "image")]
    return with_image[-1] if with_image else order[0]


def first_point_editor(g: Graph) -> str | None:
    """The first node whose points the panel edits (a starter graph opens on it)."""
    return next((str(n) for n in g.nodes if editing_mode(g, str(n)) == "pairs"), None)


def topological(g: Graph) -> list[str]:
    return list(nx.topological_sort(g.snapshot().dag()))


def image_nodes(g: Graph) -> list[str]:
    """Nodes with an image output (the editor evaluates them for their thumbnails)."""
    return [str(n) for n in g.nodes if output_with_role(g, str(n), "image")]


# --- what the canvas shows -------------------------------------------------------------------
SUMMARY_CHARS = 18


def node_summary(g: Graph, node_id: str) -> str:
    """One line for a compact node: its params that differ from their defaults ("seed 3,
    steps 200"; lists as counts, "2 pairs"), cut to SUMMARY_CHARS; "defaults" when none do."""
    parts = []
    values = g.params(node_id)
    for decl in g.type_of(node_id).params:
        value = values[decl.name]
        if isinstance(value, list):
            if value:
                unit = getattr(decl.editor, "unit", "item")
                parts.append(f"{len(value)} {unit}{'' if len(value) == 1 else 's'}")
            continue
        if value == decl.default or hasattr(value, "shape"):
            continue
        text = Path(value).name if decl.type == "path" and value else str(value)
        parts.append(f"{decl.name} {text}")
    line = ", ".join(parts) or "defaults"
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 3] + "..."


@dataclass
class CacheState:
    """Which nodes show a value: `current` ones were computed from their upstream as it is
    now; `stale` ones were computed before an edit upstream (their thumbnail and badge go)."""

    current: set[str] = field(default_factory=set)
    stale: set[str] = field(default_factory=set)

    def strip(self, total: int) -> str:
        """The status strip's count, for the graph shown now."""
        if not self.current and not self.stale:
            return "idle"
        return f"{len(self.current)} of {total} nodes current" + (
            f", {len(self.stale)} out of date" if self.stale else ""
        )


def cache_state(g: Graph, computed: dict[str, str]) -> CacheState:
    """`computed`: node -> the upstream signature its last value was computed for. A node is
    current while that signature is its signature now and the cache still holds its value."""
    state = CacheState()
    for node_id, signature in computed.items():
        if node_id not in g:
            continue
        outputs = [o.name for o in g.type_of(node_id).outputs]
        held = not outputs or any(g.cached_value(node_id, o) is not None for o in outputs)
        if signature == upstream_signature(g, node_id) and held:
            state.current.add(node_id)
        else:
            state.stale.add(node_id)
    return state


# --- rendering a latent ---------------------------------------------------------------------
def render_graph(g: Graph, source: Source) -> tuple[Graph, str, str] | None:
    """A scratch graph that renders `source`'s code: copies of its upstream nodes plus a node
    type whose required inputs are a model and a code and which gives an image. It shares
    `g`'s cache, so the copies' results come from there (fingerprints do not depend on ids)."""
    renderer = next(
        (
            cls
            for cls in g.registry.types().values()
            if sorted(str(role(i.type)) for i in cls.inputs if not i.optional) == ["code", "model"]
            and any(role(o.type) == "image" for o in cls.outputs)
        ),
        None,
    )
    if renderer is None or source.render_with is None:
        return None
    scratch = Graph(registry=g.registry, cache=g.cache)
    scratch.path, scratch.base_dir = g.path, g.base_dir
    needed = upstream_of(g, source.node) | upstream_of(g, source.render_with[0])
    for node_id in needed:
        scratch.add(g.type_of(node_id), id=node_id, **g.params(node_id))
    for link in g.links:
        if link.dst in needed:
            scratch.connect(link.src, link.output, link.dst, link.input)
    render_id = scratch.add(renderer, id="editor_render_preview")
    ins = {role(i.type): i.name for i in renderer.inputs if not i.optional}
    scratch.connect(source.render_with[0], source.render_with[1], render_id, ins["model"])
    scratch.connect(source.node, source.port, render_id, ins["code"])
    out = next(o.name for o in renderer.outputs if role(o.type) == "image")
    return scratch, str(render_id), out


# --- the film a node gives (the scrubber) --------------------------------------------------
@dataclass(frozen=True)
class FilmSource:
    """A node's film output (role "film") and the model output that renders its frames."""

    node: str
    port: str
    model: tuple[str, str]


def film_source(g: Graph, node_id: str | None) -> FilmSource | None:
    """Where the scrubber's film for `node_id` comes from: its output of role "film" and the
    output linked to its input of role "model"; None when it has no film or no linked model."""
    if node_id is None or node_id not in g:
        return None
    port = output_with_role(g, node_id, "film")
    model = generator_feeding(g, node_id) if port else None
    return FilmSource(node_id, port, model) if model else None


def animation_suggestion(g: Graph, node_id: str, suffix: str = ".webp") -> Path:
    """Where "Save animation..." proposes to write: NODE.webp beside the project (else in the
    current folder), or beside a project from an image."""
    stem = Path(g.path).name.removesuffix(PROJECT_SUFFIX) + "_" if g.path else ""
    return g.project_dir / f"{stem}{node_id}{suffix}"


def resolve_user_path(g: Graph, typed: str) -> Path:
    """A path the user typed: ~ expanded, relative to the project's folder."""
    path = Path(typed).expanduser()
    return path if path.is_absolute() else g.project_dir / path


# --- points to draw -------------------------------------------------------------------------
Point = tuple[float, float]


@dataclass
class Overlay:
    """What the panel draws over a node's image: point pairs (first points, e.g. a drag's
    handles, and second points, its targets) and tracked first points."""

    handles: list[Point] = field(default_factory=list)
    targets: list[Point] = field(default_factory=list)
    tracked: list[Point] = field(default_factory=list)


def pairs_param(g: Graph, node_id: str) -> list[tuple[Point, Point]]:
    """The point pairs a node keeps in its param with a PairsEditor."""
    param = edited_param(g, node_id)
    return param.editor.read(g.params(node_id)[param.name])


def pairs_feeding(g: Graph, node_id: str) -> str | None:
    """The node linked to `node_id`'s pairs input when it keeps its pairs in a param."""
    for decl in g.type_of(node_id).inputs:
        link = g.links_into(node_id).get(decl.name)
        if role(decl.type) == "pairs" and link is not None and editing_mode(g, link.src) == "pairs":
            return link.src
    return None


def overlay_for(g: Graph, node_id: str, tracked: Iterable[Point] | None) -> Overlay:
    """The pairs a node edits or consumes (its own pairs param, else its pairs input's) with
    `tracked`: the first points where a run (running now, or its current result) left them."""
    source = node_id if editing_mode(g, node_id) == "pairs" else pairs_feeding(g, node_id)
    pairs = pairs_param(g, source) if source is not None else []
    return Overlay([h for h, _ in pairs], [t for _, t in pairs], [tuple(p) for p in tracked or []])


# --- placing nodes --------------------------------------------------------------------------
Rect = tuple[float, float, float, float]  # x, y, width, height in grid units


def node_title(node_id: str, type_name: str) -> str:
    """A compact node's title: its id, with its type after it unless the id names it."""
    return node_id if type_name.lower() in node_id.lower() else f"{node_id} ({type_name})"


def has_thumbnail(cls: type) -> bool:
    """True for a node type that shows a thumbnail (it outputs an image)."""
    return any(port_view(o.type).role == "image" for o in cls.outputs)


# A compact node's height as drawn under Xvfb: title bar, summary and padding, a row per pin,
# then the thumbnail with the run's badge beside it, or the badge's own row; its width at least
# the summary's (cut at 18 characters), else the title's.
NODE_BASE_PX, PIN_ROW_PX, THUMB_ROW_PX = 64.0, 22.0, 61.0
MIN_NODE_WIDTH_PX, TITLE_CHAR_PX = 165.0, 7.4


def estimated_size(cls: type, title: str) -> tuple[float, float]:
    """A node's size before it is drawn (where to put a new one): as large as a run makes it."""
    height = NODE_BASE_PX + PIN_ROW_PX * (len(cls.inputs) + len(cls.outputs))
    height += THUMB_ROW_PX if has_thumbnail(cls) else PIN_ROW_PX
    return (max(MIN_NODE_WIDTH_PX, 16.0 + TITLE_CHAR_PX * len(title)), height)


def free_spot(occupied: list[Rect], view: Rect, size: tuple[float, float]) -> tuple[float, float]:
    """A place for a node of `size` inside `view` overlapping none of `occupied`, scanning rows
    from the view's top-left; the view's top-left corner when nothing fits."""
    x0, y0, vw, vh = view
    w, h = size
    step = 30.0
    y = y0 + 20
    while y + h <= y0 + vh or y == y0 + 20:
        x = x0 + 20
        while x + w <= x0 + vw or x == x0 + 20:
            if not any(_overlaps((x, y, w, h), r) for r in occupied):
                return (x, y)
            x += step
        y += step
    return (x0 + 20, y0 + 20)


def fit_offset(rects: list[Rect], view: Rect, margin: float = 10.0) -> tuple[float, float]:
    """How far to shift every node so their bounding box starts at the view's top-left."""
    if not rects:
        return (0.0, 0.0)
    left = min(r[0] for r in rects)
    top = min(r[1] for r in rects)
    return (view[0] + margin - left, view[1] + margin - top)


def fits(rects: list[Rect], view: Rect, margin: float = 10.0) -> bool:
    """True when the nodes' bounding box fits inside the view (with a margin each side)."""
    if not rects:
        return True
    width = max(r[0] + r[2] for r in rects) - min(r[0] for r in rects)
    height = max(r[1] + r[3] for r in rects) - min(r[1] for r in rects)
    return width + 2 * margin <= view[2] and height + 2 * margin <= view[3]


def overlapping(rects: dict[str, Rect]) -> list[tuple[str, str]]:
    """Pairs of nodes whose drawn rectangles overlap (one hides part of the other)."""
    names = sorted(rects)
    return [
        (a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if _overlaps(rects[a], rects[b], gap=0.0)
    ]


def layered_layout(
    g: Graph, sizes: dict[str, tuple[float, float]], gap: tuple[float, float] = (10.0, 14.0)
) -> dict[str, tuple[float, float]]:
    """Positions that read left to right: each node in the column after the deepest node it
    reads (so every link runs rightwards), a column stacked top-down in link order, columns
    as wide as their widest node, nodes right-aligned in them. A node a longer link would run behind (the generator's
    link to a later stage) moves down, with the nodes under it, until the link passes above
    it (`links_behind_nodes`). Starts at (0, 0)."""
    order = topological(g)
    depth: dict[str, int] = {}
    for node_id in order:
        sources = [link.src for link in g.links_into(node_id).values()]
        depth[node_id] = 1 + max((depth[s] for s in sources), default=-1)
    # A node that only feeds one column (a point set, a mask) sits just before its reader.
    for node_id in reversed(order):
        readers = [link.dst for link in g.links_from(node_id)]
        if readers and not g.links_into(node_id):
            depth[node_id] = max(depth[node_id], min(depth[r] for r in readers) - 1)
    columns: dict[int, list[str]] = {}
    # The chain (nodes that read something) on top, then the sources placed before a reader:
    # the long links from the first column run along the top, the short ones below.
    for node_id in sorted(order, key=lambda n: not g.links_into(n)):
        columns.setdefault(depth[node_id], []).append(node_id)
    positions, x = {}, 0.0
    size = {n: sizes.get(n, (170.0, 170.0)) for n in order}
    for column in sorted(columns):
        y, width = 0.0, max(size[n][0] for n in columns[column])
        for node_id in columns[column]:  # right-aligned: every output starts at the gap
            positions[node_id] = (x + width - size[node_id][0], y)
            y += size[node_id][1] + gap[1]
        x += width + gap[0]
    for _ in range(4 * len(order)):  # nodes only move down, each below a link: it ends
        behind = [
            (link, n)
            for link, n in links_behind_nodes(g, positions, size)
            if depth[link.src] < depth[n] < depth[link.dst]  # moving n leaves the link as it is
        ]
        if not behind:
            break
        link, node_id = behind[0]
        a, b = _link_segment(g, link, positions, size)
        _, low = _segment_span(a, b, positions[node_id], size[node_id])
        shift = low + gap[1] - positions[node_id][1]
        column = columns[depth[node_id]]
        for below in column[column.index(node_id) :]:
            positions[below] = (positions[below][0], positions[below][1] + shift)
    return positions


COLUMN_GAPS = (40.0, 30.0, 20.0, 10.0)  # the widest that fits: links between columns stay visible


def roomiest_layout(
    g: Graph, sizes: dict[str, tuple[float, float]], view: Rect
) -> dict[str, tuple[float, float]]:
    """The layered layout with the widest column gap (COLUMN_GAPS) at which the graph fits
    `view`; the narrowest when none does. At 10 px a link between two columns is a stub."""
    for gap in COLUMN_GAPS:
        layout = layered_layout(g, sizes, gap=(gap, 14.0))
        if fits([(x, y, *sizes[n]) for n, (x, y) in layout.items()], view):
            return layout
    return layout


# Where ImNodes draws a pin on a compact node (measured under Xvfb: a title bar, then one row
# per input, then one per output); an estimate, good to a few pixels.
PIN_TOP, PIN_ROW = 30.0, 22.0


def pin_point(
    g: Graph,
    node_id: str,
    port: str,
    side: str,
    pos: tuple[float, float],
    size: tuple[float, float],
) -> tuple[float, float]:
    """A pin's point on the canvas: inputs on the node's left edge, outputs on its right,
    one row each below the title (inputs first)."""
    cls = g.type_of(node_id)
    inputs = [d.name for d in cls.inputs]
    if side == "in":
        row = inputs.index(port)
        return pos[0], pos[1] + PIN_TOP + (row + 0.5) * PIN_ROW
    row = len(inputs) + [d.name for d in cls.outputs].index(port)
    return pos[0] + size[0], pos[1] + PIN_TOP + (row + 0.5) * PIN_ROW


def _link_segment(
    g: Graph, link, positions, sizes
) -> tuple[tuple[float, float], tuple[float, float]]:
    a = pin_point(g, link.src, link.output, "out", positions[link.src], sizes[link.src])
    b = pin_point(g, link.dst, link.input, "in", positions[link.dst], sizes[link.dst])
    return a, b


def _segment_span(
    a: tuple[float, float],
    b: tuple[float, float],
    pos: tuple[float, float],
    size: tuple[float, float],
) -> tuple[float, float] | None:
    """The y range the segment a-b covers over the rectangle's x range (None: it misses it)."""
    (x0, y0), (x1, y1) = sorted((a, b))
    lo, hi = max(x0, pos[0]), min(x1, pos[0] + size[0])
    if lo > hi:
        return None
    if x1 == x0:
        return min(y0, y1), max(y0, y1)
    ya = y0 + (y1 - y0) * (lo - x0) / (x1 - x0)
    yb = y0 + (y1 - y0) * (hi - x0) / (x1 - x0)
    return min(ya, yb), max(ya, yb)


def links_behind_nodes(
    g: Graph, positions: dict[str, tuple[float, float]], sizes: dict[str, tuple[float, float]]
) -> list[tuple[object, str]]:
    """(link, node) for every link whose straight line between its pins passes over a node
    other than its two ends: a link drawn behind that node, which the eye cannot follow."""
    found = []
    for link in g.links:
        a, b = _link_segment(g, link, positions, sizes)
        for node_id, pos in positions.items():
            if node_id in (link.src, link.dst):
                continue
            span = _segment_span(a, b, pos, sizes[node_id])
            if span is not None and span[1] > pos[1] and span[0] < pos[1] + sizes[node_id][1]:
                found.append((link, node_id))
    return found


def _overlaps(a: Rect, b: Rect, gap: float = 10.0) -> bool:
    return not (
        a[0] + a[2] + gap <= b[0]
        or b[0] + b[2] + gap <= a[0]
        or a[1] + a[3] + gap <= b[1]
        or b[1] + b[3] + gap <= a[1]
    )


# --- quick search ---------------------------------------------------------------------------
def search_types(g: Graph, query: str) -> list[str]:
    """Type names matching `query`, best first: names that start with it, names that contain
    it, then types whose category or a word of whose description starts with it (so "lat"
    lists Latent before a type that merely mentions latents); ties alphabetically."""
    q = query.strip().lower()

    def rank(name: str, cls: type) -> int | None:
        if name.lower().startswith(q):
            return 0
        if q in name.lower():
            return 1
        if cls.category.lower().startswith(q):
            return 2
        words = re.findall(r"[a-z0-9]+", cls.doc.lower())
        return 3 if any(w.startswith(q) for w in words) else None

    ranked = [(rank(name, cls), name) for name, cls in g.registry.types().items()]
    return [name for r, name in sorted((r, n) for r, n in ranked if r is not None)]


def missing_inputs(g: Graph, node_id: str) -> list[str]:
    """ "node.input" for every required input left unlinked in the node or what it reads:
    what must be linked before a run can give the node a value."""
    missing = []
    for n in sorted(upstream_of(g, node_id)):
        links = g.links_into(n)
        missing += [
            f"{n}.{i.name}" for i in g.type_of(n).inputs if not i.optional and i.name not in links
        ]
    return missing


# --- files ----------------------------------------------------------------------------------
def project_path(path: str | Path) -> Path:
    """The file a Save writes for what the user typed: `x`, `x.ngproj`, `x.json`, `x.png` and
    `x.ngproj.json` all become `x.ngproj.json` (an image is never overwritten by a project)."""
    path = Path(path)
    name = path.name
    for suffix in (PROJECT_SUFFIX, ".ngproj", ".json", ".png"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name((name or "untitled") + PROJECT_SUFFIX)


def window_title(g: Graph, opened_from: str | None) -> str:
    """The viewport title: the project file, else the image it came from, else "untitled"."""
    if g.path:
        name = Path(g.path).name
    elif opened_from:
        name = f"{Path(opened_from).name} (project from an image)"
    else:
        name = "untitled"
    return f"{name}{' *' if g.dirty else ''} - nodegraph"


# --- a drag the user stopped ---------------------------------------------------------------
STOPPED_AT = "stopped_at"  # the param a node that stops early keeps its kept step in


def stops_cleared_by(g: Graph, node_id: str, params: Iterable[str]) -> list[str]:
    """Nodes whose recorded Stop an edit of `params` on `node_id` ends: the node itself (any
    param but the stop) and the nodes it feeds (e.g. a drag whose points moved), where set."""
    if set(params) == {STOPPED_AT}:
        return []
    candidates = [node_id, *dict.fromkeys(link.dst for link in g.links_from(node_id))]
    return [
        n
        for n in candidates
        if n in g and STOPPED_AT in g.params(n) and g.params(n)[STOPPED_AT] is not None
    ]


# --- continuing a drag ----------------------------------------------------------------------
def whole(value: float) -> float | int:
    """A coordinate as an int when it is whole (so [57, 70] stays [57, 70] after an edit)."""
    value = round(float(value), 2)
    return int(value) if value.is_integer() else value


@dataclass
class NextStage:
    """What Continue added: the new point set and drag node, and the consumers relinked."""

    points: str
    drag: str
    relinked: list[str]


def continue_drag(g: Graph, drag_id: str, tracked: list[Point], targets: list[Point]) -> NextStage:
    """The next stage of a drag, as the official GUI continues one: a new point set whose
    handles are `tracked` (where the drag left them) and whose targets are `targets`, and a
    copy of the drag node fed by it and by `drag_id`'s code; the nodes that read `drag_id`
    now read the new stage. One undo step."""
    points_src = pairs_feeding(g, drag_id)
    if points_src is None:
        raise ValueError(f"node {drag_id!r} has no point set linked to its point pairs input")
    latent_in = input_with_role(g, drag_id, "code")
    points_in = input_with_role(g, drag_id, "pairs")
    latent_out = output_with_role(g, drag_id, "code")
    pairs_decl = edited_param(g, points_src)
    pairs = [
        pairs_decl.editor.pair((whole(h[0]), whole(h[1])), (whole(t[0]), whole(t[1])))
        for h, t in zip(tracked, targets)
    ]
    params = g.params(drag_id)
    if params.get(STOPPED_AT) is not None:  # the new stage runs its whole budget
        params[STOPPED_AT] = None
    x, y = g.pos(drag_id)
    consumers = g.links_from(drag_id)
    right = [str(n) for n in g.nodes if g.pos(n)[0] > x + 1]
    drag_name = next_stage_name(g, drag_id)
    points_name = unique_id(g, f"{drag_name}_points")
    with g.transaction(f"continue {drag_id}"):
        for node_id in right:  # make room: two new columns right of the stopped drag
            px, py = g.pos(node_id)
            g.move(node_id, (px + 2 * STAGE_DX, py))
        # Beside the stopped drag: its point set in the next column, the drag after that.
        new_points = g.add(
            g.type_of(points_src), id=points_name, pos=(x + STAGE_DX, y),
            **{pairs_decl.name: pairs},
        )  # fmt: skip
        new_drag = g.add(g.type_of(drag_id), id=drag_name, pos=(x + 2 * STAGE_DX, y), **params)
        for name, link in g.links_into(drag_id).items():
            if name == points_in:
                continue
            src, out = (drag_id, latent_out) if name == latent_in else (link.src, link.output)
            g.connect(src, out, new_drag, name)
        g.connect(new_points, output_with_role(g, str(new_points), "pairs"), new_drag, points_in)
        for link in consumers:
            g.connect(new_drag, link.output, link.dst, link.input, replace=True)
    return NextStage(str(new_points), str(new_drag), sorted({lk.dst for lk in consumers}))


def unique_id(g: Graph, wanted: str) -> str:
    """`wanted`, or `wanted_2`, `wanted_3`... when a node already has that id."""
    candidate, n = wanted, 2
    while candidate in g:
        candidate, n = f"{wanted}_{n}", n + 1
    return candidate


def next_stage_name(g: Graph, drag_id: str) -> str:
    """The id of the stage after `drag_id`: stage1 -> stage2, pull3 -> pull4; a name without
    a number is stage 1, so its next is "stage2"; made unique (stage3, ...)."""
    match = re.fullmatch(r"(.*?)(\d+)", drag_id)
    if match:
        return unique_id(g, f"{match[1]}{int(match[2]) + 1}")
    n = 2
    while f"stage{n}" in g:
        n += 1
    return f"stage{n}"


def distance_left(tracked: list[Point], targets: list[Point]) -> float:
    """The largest handle-to-target distance."""
    return max((math.dist(h, t) for h, t in zip(tracked, targets)), default=0.0)
