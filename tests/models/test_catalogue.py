"""`nodegraph models list`: every model the official DragGAN lists, with family, resolution,
size, source and whether it is cached; names resolve from the official file names too."""

from __future__ import annotations

import json
from pathlib import Path

from nodegraph.cli import main
from nodes.models import MODELS, cache_root, find_model

# The table: the official DragGAN's download list and README extras
# (docs/MODEL_MANAGER.md).
OFFICIAL_FILES = [
    "stylegan2-ffhq-512x512.pkl", "stylegan2-afhqcat-512x512.pkl", "lions_512_pytorch.pkl",
    "dogs_1024_pytorch.pkl", "horses_256_pytorch.pkl", "elephants_512_pytorch.pkl",
    "stylegan2-car-config-f.pkl", "stylegan2-cat-config-f.pkl", "stylegan_human_v2_512.pkl",
    "stylegan_human_v2_1024.pkl",
    *(f"stylegan3-{v}-{d}.pkl" for v in "tr" for d in ("ffhqu-256x256", "ffhqu-1024x1024", "ffhq-1024x1024", "afhqv2-512x512", "metfaces-1024x1024", "metfacesu-1024x1024")),
]  # fmt: skip


def test_list_json_has_every_model_with_its_facts(cache, capsys):
    assert main(["models", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert sorted(rows) == sorted(m.name for m in MODELS)
    assert sorted(row["file"] for row in rows.values() if "lhq" not in row["name"]) == sorted(
        OFFICIAL_FILES
    )
    assert any("lhq" in name for name in rows)
    for row in rows.values():
        assert row["family"] and row["approx_mb"] > 0 and row["cached"] is False
        assert row["resolution"] == f"{row['height']}x{row['width']}"
    assert rows["stylegan-human-v2-512"]["resolution"] == "512x256"
    assert (
        rows["stylegan-human-v2-1024"]["url"] is None and rows["stylegan2-lhq-256"]["url"] is None
    )
    assert (
        rows["stylegan2-lions-512"]["url"]
        == "https://storage.googleapis.com/self-distilled-stylegan/lions_512_pytorch.pkl"
    )
    assert rows["stylegan2-car-config-f"]["file_format"] == "tensorflow"


def test_list_shows_local_file_only_and_the_cache(cache, capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert (
        "stylegan-human-v2-512" in out and "local file only" in out and str(cache / "models") in out
    )


def test_official_file_names_find_their_model():
    assert find_model("stylegan2_lions_512_pytorch.pkl").name == "stylegan2-lions-512"
    assert find_model("stylegan2-ffhq-512x512").name == "stylegan2-ffhq-512"
    assert find_model("nothing-like-it") is None


def test_the_cache_is_nodegraph_cache_else_the_user_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("NODEGRAPH_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("NODEGRAPH_CACHE")
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "nodegraph"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert cache_root() == Path.home() / ".cache" / "nodegraph"
    monkeypatch.setattr("sys.platform", "darwin")
    assert cache_root() == Path.home() / "Library" / "Caches" / "nodegraph"


def test_a_mirror_must_be_an_http_url(cache, monkeypatch, capsys):
    monkeypatch.setenv("NODEGRAPH_MODEL_MIRROR", "ftp://example/models")
    assert main(["models", "get", "stylegan2-ffhq-512"]) == 2
    assert "NODEGRAPH_MODEL_MIRROR" in capsys.readouterr().err


def test_a_name_cannot_leave_the_cache(cache, capsys, server):
    assert main(["models", "get", server.url + "/x.pkl", "--name", "../escape"]) == 2
    assert "cannot name a model" in capsys.readouterr().err
