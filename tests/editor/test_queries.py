"""The editor's graph queries, without a display: what a node shows, what is upstream, where
nodes go, file names, the quick search's order, and how Continue chains a drag."""

from __future__ import annotations

from nodegraph import Graph
from nodegraph.editor import queries


def _two_stage() -> tuple[Graph, dict[str, str]]:
    g = Graph()
    ids = {
        "gen": g.add("Generator"),
        "latent": g.add("Latent", seed=4),
        "points": g.add("PointSet", points=[{"handle": [57, 70], "target": [66, 70]}]),
        "drag": g.add("DragOptimizer", id="stage1", steps=80),
        "export": g.add("Export", path="out.png", pos=(600, 0)),
    }
    g.connect(ids["gen"], "generator", ids["latent"], "generator")
    for out, inp, src in [("generator", "generator", "gen"), ("latent", "latent", "latent"),
                          ("points", "points", "points")]:  # fmt: skip
        g.connect(ids[src], out, ids["drag"], inp)
    g.connect(ids["drag"], "image", ids["export"], "image")
    return g, {k: str(v) for k, v in ids.items()}


def test_a_drag_shows_its_own_image_and_starts_from_its_latents_render():
    g, ids = _two_stage()
    assert queries.image_source(g, ids["drag"]) == queries.Source(ids["drag"], "image")
    before = queries.input_image_source(g, ids["drag"])
    assert before == queries.Source(ids["latent"], "latent", (ids["gen"], "generator"))
    assert queries.image_source(g, ids["points"]).node == ids["latent"]  # its consumer's input


def test_the_upstream_signature_changes_with_upstream_edits_only():
    g, ids = _two_stage()
    before = queries.upstream_signature(g, ids["drag"])
    g.move(ids["drag"], (500, 500))
    g.set(ids["export"], path="other.png")
    assert queries.upstream_signature(g, ids["drag"]) == before
    g.set(ids["latent"], seed=5)
    assert queries.upstream_signature(g, ids["drag"]) != before


def test_a_run_reads_its_targets_and_everything_upstream():
    g, ids = _two_stage()
    assert queries.run_closure(g, [ids["drag"]]) == {
        ids[k] for k in ("gen", "latent", "points", "drag")
    }


def test_the_overlay_of_a_drag_is_its_point_sets_pairs_with_the_tracked_handles():
    g, ids = _two_stage()
    overlay = queries.overlay_for(g, ids["drag"], [(60.0, 70.0)])
    assert overlay.handles == [(57, 70)] and overlay.targets == [(66, 70)]
    assert overlay.tracked == [(60.0, 70.0)]


def test_quick_search_ranks_names_that_start_with_the_query_first():
    g, _ = _two_stage()
    assert queries.search_types(g, "lat")[0] == "Latent"
    assert queries.search_types(g, "drag")[0] == "DragOptimizer"


def test_project_names_get_one_project_suffix():
    for typed in (
        "scratch",
        "scratch.ngproj",
        "scratch.json",
        "scratch.ngproj.json",
        "scratch.png",
    ):
        assert queries.project_path(f"/tmp/{typed}").name == "scratch.ngproj.json", typed
    assert queries.DEFAULT_PROJECT_NAME == "untitled.ngproj.json"


def test_the_title_of_a_project_from_an_image_names_the_image():
    g, _ = _two_stage()
    assert queries.window_title(g, "/home/u/ux/photo.png").startswith(
        "photo.png (project from an image)"
    )
    assert queries.window_title(Graph(), None) == "untitled - nodegraph"


def test_a_free_spot_is_inside_the_view_and_overlaps_no_node():
    view = (100.0, 50.0, 800.0, 600.0)
    occupied = [(120.0, 70.0, 190.0, 300.0), (350.0, 70.0, 190.0, 300.0)]
    x, y = queries.free_spot(occupied, view, (190.0, 300.0))
    assert 100 <= x and x + 190 <= 900 and 50 <= y and y + 300 <= 650
    assert not any(queries._overlaps((x, y, 190, 300), r) for r in occupied)
    assert queries.fit_offset(occupied, view, margin=20) == (0.0, 0.0)
    assert queries.fit_offset([(-900.0, 2000.0, 10.0, 10.0)], view) == (1010.0, -1940.0)


def test_whole_coordinates_stay_ints():
    assert queries.whole(57.0) == 57 and isinstance(queries.whole(57.0), int)
    assert queries.whole(57.25) == 57.25


def test_continue_adds_a_point_set_from_the_tracked_handles_and_a_drag_after_the_first():
    g, ids = _two_stage()
    stage = queries.continue_drag(g, ids["drag"], [(61.0, 70.0)], [(66.0, 70.0)])
    assert g.params(stage.points)["points"] == [{"handle": [61, 70], "target": [66, 70]}]
    into = g.links_into(stage.drag)
    assert (into["latent"].src, into["latent"].output) == (ids["drag"], "latent")
    assert into["generator"].src == ids["gen"] and into["points"].src == stage.points
    assert g.links_into(ids["export"])["image"].src == stage.drag  # downstream reads the new stage
    assert stage.relinked == [ids["export"]]
    g.undo()  # one undo step
    assert stage.drag not in g and g.links_into(ids["export"])["image"].src == ids["drag"]


def test_cache_state_calls_a_value_stale_once_anything_upstream_changed():
    g, ids = _two_stage()
    computed = {n: queries.upstream_signature(g, n) for n in ids.values()}
    g.set(ids["latent"], seed=5)
    state = queries.cache_state(g, computed)
    # nothing was evaluated, so nothing is held either: all are out of date
    assert state.current == set() and state.stale == set(ids.values())
    assert state.strip(len(g)) == "0 of 5 nodes current, 5 out of date"
    assert queries.CacheState().strip(5) == "idle"


def test_node_summary_lists_what_differs_from_the_defaults_in_one_short_line():
    g, ids = _two_stage()
    assert queries.node_summary(g, ids["points"]) == "1 pair"
    assert queries.node_summary(g, ids["drag"]) == "steps 80"
    assert queries.node_summary(g, ids["export"]) == "path out.png"
    assert len(queries.node_summary(g, ids["latent"])) <= queries.SUMMARY_CHARS


def test_continue_names_the_next_stage_and_places_it_beside_the_stopped_one():
    g, ids = _two_stage()
    g.move(ids["drag"], (200.0, 0.0))
    stage = queries.continue_drag(g, ids["drag"], [(61.0, 70.0)], [(66.0, 70.0)])
    assert (stage.drag, stage.points) == ("stage2", "stage2_points")
    (dx, dy), (px, py) = g.pos(stage.drag), g.pos(stage.points)
    assert py == dy == 0.0 and 200.0 < px < dx  # the same row, right of the stopped drag
    assert g.pos(ids["export"])[0] > dx  # what was right of it moved further right
    assert queries.next_stage_name(g, "drag") == "stage3"  # stage2 is taken


def test_layered_layout_puts_every_reader_right_of_what_it_reads():
    g, ids = _two_stage()
    sizes = {n: (150.0, 100.0) for n in ids.values()}
    pos = queries.layered_layout(g, sizes)
    assert all(pos[link.src][0] < pos[link.dst][0] for link in g.links)
    corners = list(pos.values())
    assert not any(
        abs(a[0] - b[0]) < 150 and abs(a[1] - b[1]) < 100
        for i, a in enumerate(corners)
        for b in corners[i + 1 :]
    )  # no two nodes overlap


# two_stage's compact nodes as drawn under Xvfb (width, height; the drag nodes with their
# trajectory ports), and the places the project had them when they were hand-placed (the
# generator's link to stage2 ran behind both point sets). test_examples_layout.py checks the
# project's own places on the nodes as drawn.
TWO_STAGE_SIZES = {
    "generator": (133.0, 86.0), "latent": (133.0, 108.0), "stage1_points": (174.0, 86.0),
    "stage1": (169.0, 323.0), "mouth_mask": (156.0, 130.0), "stage2_points": (174.0, 86.0),
    "stage2": (169.0, 323.0), "export": (169.0, 152.0),
}  # fmt: skip
TWO_STAGE_HAND_PLACED = {
    "generator": (0.0, 0.0), "latent": (0.0, 235.0), "stage1_points": (230.0, 0.0),
    "stage1": (230.0, 165.0), "mouth_mask": (460.0, 165.0), "stage2_points": (460.0, 0.0),
    "stage2": (690.0, 0.0), "export": (690.0, 540.0),
}  # fmt: skip


def test_no_link_of_two_stage_runs_behind_a_node_once_laid_out():
    """Item 5: the layered layout moves a node a longer link would cross (the generator's
    and latent's links to later stages) down, so each link's straight line between its pins
    touches only its two ends; the query finds the hand placement's crossings."""
    from pathlib import Path

    g = Graph.load(Path(__file__).parents[2] / "projects" / "two_stage.ngproj.json")
    behind = queries.links_behind_nodes(g, TWO_STAGE_HAND_PLACED, TWO_STAGE_SIZES)
    assert {(link.src, link.dst, node) for link, node in behind} == {
        ("generator", "stage2", "stage1_points"),
        ("generator", "stage2", "stage2_points"),
        ("stage1", "stage2", "mouth_mask"),
    }
    pos = queries.layered_layout(g, TWO_STAGE_SIZES)
    assert queries.links_behind_nodes(g, pos, TWO_STAGE_SIZES) == []
    assert all(pos[link.src][0] < pos[link.dst][0] for link in g.links)
    rects = {n: (*p, *TWO_STAGE_SIZES[n]) for n, p in pos.items()}
    assert queries.overlapping(rects) == []
    assert queries.fits(list(rects.values()), (8.0, 8.0, 880.0, 700.0))  # the default canvas


def test_the_roomiest_layout_takes_the_widest_column_gap_that_fits():
    from pathlib import Path

    g = Graph.load(Path(__file__).parents[2] / "projects" / "two_stage.ngproj.json")

    def gap_between(pos, a, b):  # the widest nodes of two neighbouring columns
        return pos[b][0] - (pos[a][0] + TWO_STAGE_SIZES[a][0])

    wide = queries.roomiest_layout(g, TWO_STAGE_SIZES, (0.0, 0.0, 2000.0, 900.0))
    assert gap_between(wide, "stage1_points", "stage2_points") == queries.COLUMN_GAPS[0] == 40.0
    snug = queries.roomiest_layout(g, TWO_STAGE_SIZES, (8.0, 8.0, 880.0, 700.0))
    assert gap_between(snug, "stage1_points", "stage2_points") == 10.0  # 859 px wide at 10, 889 at 20
    assert queries.fits([(*snug[n], *TWO_STAGE_SIZES[n]) for n in snug], (8.0, 8.0, 880.0, 700.0))
    tiny = queries.roomiest_layout(g, TWO_STAGE_SIZES, (0.0, 0.0, 300.0, 300.0))
    assert tiny == queries.layered_layout(g, TWO_STAGE_SIZES, gap=(10.0, 14.0))  # none fits


def test_overlapping_names_each_pair_of_nodes_one_hides_part_of():
    rects = {"a": (0.0, 0.0, 100.0, 50.0), "b": (90.0, 40.0, 50.0, 50.0), "c": (100.0, 0.0, 9.0, 9.0)}
    assert queries.overlapping(rects) == [("a", "b")]  # c only touches a's edge


def test_quick_search_lists_description_matches_after_names_and_only_by_word():
    g = Graph()
    found = queries.search_types(g, "lat")
    assert found[0] == "Latent"
    assert all(found.index("Latent") < found.index(n) for n in found if "lat" not in n.lower())
    assert queries.search_types(g, "ranslat") == []  # inside a word of a description: no


def test_undo_names_the_node_and_param():
    g, ids = _two_stage()
    g.set(ids["drag"], lr=0.05)
    assert g.undo_label == f"set {ids['drag']}.lr"
