"""A Generator's `checkpoint` names a model in the cache; a project never downloads one by
itself (`run --download` or the editor's dialog allows it); the mirror variable; `path`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nodegraph import Graph
from nodegraph.cli import main
from nodegraph.trust import Permissions, TrustError
from nodes.gan import load_generator

PROJECTS = Path(__file__).parents[2] / "projects"
FFHQ = "stylegan2-ffhq-512"


def register(tmp_path, tiny_pickle, name: str = FFHQ) -> Path:
    """Puts the tiny pickle in the cache under `name`, as `get NAME --file` does."""
    pkl = tmp_path / "by-hand.pkl"
    pkl.write_bytes(tiny_pickle[0])
    assert main(["models", "get", name, "--file", str(pkl)]) == 0
    return pkl


def tiny_project(tmp_path, checkpoint: str) -> Path:
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=checkpoint)
    latent = g.add("Latent", id="latent", seed=1)
    render = g.add("Render", id="render")
    export = g.add("Export", id="export", path="out.png")
    g.connect(gen, "generator", latent, "generator")
    g.connect(gen, "generator", render, "generator")
    g.connect(latent, "latent", render, "latent")
    g.connect(render, "image", export, "image")
    path = tmp_path / "p.ngproj.json"
    g.save(path)
    return path


def test_the_generator_loads_a_cached_model_by_name(tmp_path, cache, tiny_pickle, capsys):
    register(tmp_path, tiny_pickle)
    G = tiny_pickle[1]
    g = Graph()
    g.add("Generator", id="generator", checkpoint=FFHQ)
    loaded = g.value("generator", "generator")
    assert loaded.img_resolution == 16
    for name, tensor in G.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    capsys.readouterr()
    assert main(["models", "path", FFHQ]) == 0
    assert capsys.readouterr().out.strip() == str(cache / "models" / f"{FFHQ}.safetensors")


def test_run_refuses_an_uncached_model_by_name_and_says_the_fix(tmp_path, cache, server, capsys):
    project = tiny_project(tmp_path, FFHQ)
    assert main(["run", str(project), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"model {FFHQ!r} is not downloaded" in err
    assert f"`nodegraph models get {FFHQ}`" in err and "`nodegraph run --download`" in err
    assert server.requests == []


def test_run_with_download_fetches_the_model_through_the_mirror(
    tmp_path, cache, server, tiny_pickle, monkeypatch
):
    server.serve("/mirror/stylegan2-ffhq-512x512.pkl", tiny_pickle[0])
    monkeypatch.setenv("NODEGRAPH_MODEL_MIRROR", server.url + "/mirror")
    project = tiny_project(tmp_path, FFHQ)
    assert main(["run", str(project), "--quiet", "--download"]) == 0
    assert [p for p, _ in server.requests] == ["/mirror/stylegan2-ffhq-512x512.pkl"]
    assert (tmp_path / "out.png").is_file()
    assert load_generator(cache / "models" / f"{FFHQ}.safetensors").img_resolution == 16
    recorded = json.loads((cache / "models" / "checksums.json").read_text())
    assert recorded[FFHQ]["url"] == server.url + "/mirror/stylegan2-ffhq-512x512.pkl"


def test_a_graph_built_in_code_does_not_download_either(cache, server):
    g = Graph()
    g.add("Generator", id="generator", checkpoint=FFHQ)
    with pytest.raises(Exception) as caught:
        g.value("generator", "generator")
    refusal = caught.value.cause
    assert isinstance(refusal, TrustError) and refusal.permission == "download"


def test_the_editor_dialog_offers_the_download(cache):
    from nodegraph.editor import trust_dialog

    g = Graph()
    g.add("Generator", id="generator", checkpoint=FFHQ)
    with pytest.raises(Exception) as caught:
        g.value("generator", "generator")
    refusal = trust_dialog.trust_refusal(caught.value)
    assert FFHQ in trust_dialog.question(refusal) and "Download it now" in trust_dialog.question(
        refusal
    )
    assert trust_dialog.allowing(Permissions(), refusal) == Permissions(download=True)


def test_a_file_path_checkpoint_is_still_a_path(tmp_path, cache, tiny_generator):
    from nodes.gan import save_generator

    save_generator(tiny_generator, tmp_path / f"{FFHQ}.safetensors")
    g = Graph()
    g.add("Generator", id="generator", checkpoint=str(tmp_path / f"{FFHQ}.safetensors"))
    assert g.value("generator", "generator").img_resolution == 32


def test_a_registered_file_that_changed_is_refused_unless_accepted(
    tmp_path, cache, tiny_pickle, capsys
):
    pkl = register(tmp_path, tiny_pickle)
    pkl.write_bytes(tiny_pickle[0] + b"\0")
    assert main(["models", "get", FFHQ, "--file", str(pkl), "--force"]) == 1
    assert "--accept-changed" in capsys.readouterr().err
    assert main(["models", "get", FFHQ, "--file", str(pkl), "--force", "--accept-changed"]) == 0


def test_a_local_only_model_says_how_to_register_it(cache, capsys):
    assert main(["models", "get", "stylegan-human-v2-512"]) == 2
    err = capsys.readouterr().err
    assert "no direct download link" in err and "--file PATH" in err


def test_path_of_an_uncached_model_says_the_fix(cache, capsys):
    assert main(["models", "path", "stylegan2-lions-512"]) == 1
    assert "`nodegraph models get stylegan2-lions-512`" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["ffhq_smile", "ffhq_turn_head"])
def test_the_ffhq_examples_name_the_model_and_run_refuses_until_it_is_there(
    name, tmp_path, cache, capsys
):
    graph = Graph.load(PROJECTS / f"{name}.ngproj.json")
    assert graph.params("generator")["checkpoint"] == FFHQ
    assert (
        main(
            ["run", str(PROJECTS / f"{name}.ngproj.json"), "--output-dir", str(tmp_path), "--quiet"]
        )
        == 1
    )
    assert f"`nodegraph models get {FFHQ}`" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
