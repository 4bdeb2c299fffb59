"""Projects (SPEC §4): exact round trip, atomic saves, and one error type for any broken file."""

from __future__ import annotations

import json
import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nodegraph import Graph, ProjectError
from nodegraph import project as proj


@pytest.fixture
def sample(chain):
    chain.add(
        "TTensorSum", id="t", pos=(3.5, -2), mask=torch.arange(6, dtype=torch.float32).reshape(2, 3)
    )
    chain.set("c", mode="fancy", items=[1, {"a": [2.5]}], flag=True)
    chain.meta["view"] = {"zoom": 1.5}
    return chain


@pytest.fixture
def saved(sample, tmp_path):
    path = tmp_path / "demo.ngproj.json"
    sample.save(path)
    return path


def test_save_writes_json_and_tensor_sidecar(saved):
    data = json.loads(saved.read_text())
    assert data["format"] == "nodegraph.project" and data["version"] == 1
    node = next(n for n in data["nodes"] if n["id"] == "t")
    assert node["params"]["mask"] == {"$tensor": "t.mask"} and node["pos"] == [3.5, -2.0]
    assert {"from": ["c", "out"], "to": ["a", "a"]} in data["links"]
    assert proj.sidecar_of(saved).exists()
    assert proj.sidecar_of(saved).name.startswith("demo.ngproj.")


def test_round_trip_is_exact(sample, saved, reg):
    loaded = Graph.load(saved, registry=reg)
    assert loaded.to_json() == sample.to_json()
    assert torch.equal(loaded.params("t")["mask"], sample.params("t")["mask"])
    assert loaded.evaluate(device="cpu").outputs == sample.evaluate(device="cpu").outputs


def test_loaded_graph_is_clean_and_knows_its_path(saved, reg):
    loaded = Graph.load(saved, registry=reg)
    assert not loaded.dirty and loaded.path == str(saved) and not loaded.can_undo


def test_to_json_and_from_json_round_trip_with_inline_tensors(sample, reg):
    text = json.dumps(sample.to_json())
    copy = Graph.from_json(text, registry=reg)
    assert torch.equal(copy.params("t")["mask"], sample.params("t")["mask"])
    assert copy.to_json() == sample.to_json()


def test_saving_without_tensors_removes_a_stale_sidecar(sample, saved, reg):
    sample.remove("t")
    sample.save(saved)
    assert list(saved.parent.glob("*.safetensors")) == []
    assert "t" not in Graph.load(saved, registry=reg)


def test_failed_rename_leaves_the_old_file_intact(sample, saved, monkeypatch):
    before = saved.read_bytes()
    sample.set("c", value=42.0)

    def broken_replace(src, dst, **dir_fds):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(proj.os, "replace", broken_replace)
    with pytest.raises(ProjectError, match="No space left"):
        sample.save(saved)
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == sorted(
        ["demo.ngproj.json", proj.sidecar_of(saved).name]
    )


def test_failed_write_leaves_the_old_file_intact(sample, saved, monkeypatch):
    before = saved.read_bytes()
    sample.set("c", value=42.0)

    def broken_dumps(*args, **kwargs):
        raise ValueError("serialiser crashed")

    monkeypatch.setattr(proj.json, "dumps", broken_dumps)
    with pytest.raises(ProjectError, match="serialiser crashed"):
        sample.save(saved)
    assert saved.read_bytes() == before
    assert sample.dirty


def write_json(path, data):
    path.write_text(json.dumps(data))
    return path


def test_unknown_type_error_names_file_node_and_field(saved, reg):
    data = json.loads(saved.read_text())
    data["nodes"][0]["type"] = "Vanished"
    write_json(saved, data)
    with pytest.raises(
        ProjectError,
        match=r"demo\.ngproj\.json, node 'c', field 'type': unknown node type 'Vanished'",
    ):
        Graph.load(saved, registry=reg)


def test_bad_param_error_names_the_param(saved, reg):
    data = json.loads(saved.read_text())
    data["nodes"][0]["params"]["value"] = 1000
    write_json(saved, data)
    with pytest.raises(ProjectError, match=r"node 'c', field 'params\.value'.*out of range"):
        Graph.load(saved, registry=reg)


def test_link_error_names_the_link(saved, reg):
    data = json.loads(saved.read_text())
    data["links"].append({"from": ["c", "out"], "to": ["a", "a"]})
    write_json(saved, data)
    with pytest.raises(ProjectError, match=r"field 'links\[\d\]'.*already linked"):
        Graph.load(saved, registry=reg)


def test_missing_sidecar_is_a_project_error(saved, reg):
    proj.sidecar_of(saved).unlink()
    with pytest.raises(ProjectError, match=r"field 'sidecar': cannot read tensor file"):
        Graph.load(saved, registry=reg)


def test_sidecar_from_another_save_is_detected(saved, reg):
    sidecar = proj.sidecar_of(saved)
    sidecar.write_bytes(sidecar.read_bytes()[:-1] + b" ")
    with pytest.raises(ProjectError, match="does not match"):
        Graph.load(saved, registry=reg)


def test_newer_version_asks_to_upgrade(saved, reg):
    data = json.loads(saved.read_text())
    data["version"] = 99
    write_json(saved, data)
    with pytest.raises(ProjectError, match="field 'version'.*upgrade nodegraph"):
        Graph.load(saved, registry=reg)


def test_older_version_goes_through_the_migrations(saved, reg, monkeypatch):
    data = json.loads(saved.read_text())
    data["version"] = 0.5
    write_json(saved, data)
    with pytest.raises(ProjectError, match="positive integer"):
        Graph.load(saved, registry=reg)
    monkeypatch.setattr(proj, "VERSION", 2)
    monkeypatch.setitem(proj.MIGRATIONS, 1, lambda d: {**d, "meta": {"migrated": True}})
    data["version"] = 1
    write_json(saved, data)
    assert Graph.load(saved, registry=reg).meta == {"migrated": True}


def test_missing_file_is_a_project_error(tmp_path, reg):
    with pytest.raises(ProjectError, match="cannot read"):
        Graph.load(tmp_path / "nothing.ngproj.json", registry=reg)


corruption = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(
        st.just("flip"),
        st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8),
    ),
    st.tuples(st.just("delete"), st.lists(st.floats(0, 1), min_size=1, max_size=3)),
    st.tuples(
        st.just("retype"),
        st.floats(0, 1),
        st.sampled_from([None, 0, -1, 1.5, "x", [], {}, [[]], True, 10**30]),
    ),
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


def corrupt(raw: bytes, how) -> bytes:
    kind = how[0]
    if kind == "truncate":
        return raw[: int(len(raw) * how[1])]
    if kind == "flip":
        data = bytearray(raw)
        for where, byte in how[1]:
            data[min(int(where * len(data)), len(data) - 1)] = byte
        return bytes(data)
    doc = json.loads(raw)
    paths = [p for p in _paths(doc) if p]
    for where in how[1] if kind == "delete" else [how[1]]:
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = paths[min(int(where * len(paths)), len(paths) - 1)]
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if kind == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = how[2]
    return json.dumps(doc).encode()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(how=corruption)
def test_corrupt_project_gives_project_error_or_a_graph(saved, reg, tmp_path, how):
    original = saved.read_bytes()
    broken = tmp_path / "broken.ngproj.json"
    (tmp_path / "broken.ngproj.safetensors").write_bytes(
        proj.sidecar_of(saved).read_bytes()
    )
    broken.write_bytes(corrupt(original, how))
    try:
        graph = Graph.load(broken, registry=reg)
    except ProjectError as exc:
        assert str(broken) in str(exc)
    else:
        assert isinstance(graph, Graph)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4)
)
def test_corrupt_sidecar_gives_project_error(saved, reg, cut, flips):
    sidecar = proj.sidecar_of(saved)
    raw = sidecar.read_bytes()
    data = json.loads(saved.read_text())
    broken = (
        corrupt(raw[: max(1, int(len(raw) * cut))], ("flip", flips))
        if flips
        else raw[: int(len(raw) * cut)]
    )
    sidecar.write_bytes(broken)
    data["sidecar"]["sha256"] = __import__("hashlib").sha256(broken).hexdigest()
    write_json(saved, data)
    try:
        Graph.load(saved, registry=reg)
    except ProjectError:
        pass
    finally:
        sidecar.write_bytes(raw)


def test_relative_paths_resolve_against_the_project_folder(graph, tmp_path, reg):
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "input.txt").write_text("from the project folder")
    r = graph.add("TReadFile", id="r", path="input.txt")
    w = graph.add("TWrite", id="w", path="out/copy.txt")
    graph.connect(r, "text", w, "text")
    graph.save(folder / "p.ngproj.json")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        report = Graph.load(folder / "p.ngproj.json", registry=reg).evaluate(device="cpu")
    finally:
        os.chdir(cwd)
    assert report.written == [str(folder / "out" / "copy.txt")]
    assert (folder / "out" / "copy.txt").read_text() == "from the project folder"


def test_png_with_embedded_project_reopens_as_the_project(sample, tmp_path, reg):
    png = tmp_path / "export.png"
    Image.new("RGB", (4, 4)).save(png, pnginfo=proj.project_pnginfo(sample.to_json(), node_id="s"))
    for loaded in (proj.load_from_png(png, registry=reg), Graph.load(png, registry=reg)):
        assert loaded.to_json() == sample.to_json()
        assert loaded.project_dir == tmp_path and loaded.path is None


def test_png_without_a_project_is_a_project_error(tmp_path, reg):
    png = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(png)
    with pytest.raises(ProjectError, match="no embedded project"):
        proj.load_from_png(png, registry=reg)
