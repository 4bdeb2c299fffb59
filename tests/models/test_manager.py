"""The model manager against a local HTTP server: download, resume, integrity, the recorded
sha256, the mirror, the cache layout, `models list|path`, and a Generator loading by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nodegraph import Graph
from nodegraph.cli import main
from nodes.gan import load_generator
from nodes.models import ChecksumMismatch, DownloadError, ModelNotCached, get_model
from nodes.models.catalogue import MODELS, find_model

ROOT = Path(__file__).parents[2]
FFHQ = find_model("stylegan2-ffhq-512")


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def no_partial_files(cache: Path) -> bool:
    """Nothing under a final name that is not complete: only .part files may be incomplete."""
    models = cache / "models"
    return not models.exists() or all(p.suffix in (".safetensors", ".json") for p in models.iterdir())


def test_full_download_converts_and_caches(server, cache, tiny_pickle):
    data, G, marker = tiny_pickle
    url = server.serve("/net/tiny.pkl", data)
    out = get_model(url, name="tiny")
    assert out == cache / "models" / "tiny.safetensors"
    assert same_weights(load_generator(out), G)
    assert not marker.exists()  # nothing from the pickle ran
    assert not list((cache / "downloads").iterdir())  # the pickle is not kept by default
    record = json.loads((cache / "models" / "checksums.json").read_text())[f"url:{url}"]
    assert record["bytes"] == len(data) and len(record["sha256"]) == 64
    assert get_model(url, name="tiny") == out  # cached: no second request
    assert len(server.requests_for("/net/tiny.pkl")) == 1


def test_cut_download_resumes_with_range(server, cache, tiny_pickle):
    data, G, _ = tiny_pickle
    cut = len(data) // 3
    url = server.serve("/tiny.pkl", data, cut_at=cut, cuts_left=1)
    with pytest.raises(DownloadError, match="stopped after") as info:
        get_model(url, name="tiny")
    assert "\n" not in str(info.value)
    assert not (cache / "models" / "tiny.safetensors").exists()
    assert (cache / "downloads" / "tiny.pkl.part").stat().st_size == cut
    assert not (cache / "downloads" / "tiny.pkl").exists()
    out = get_model(url, name="tiny")
    first, second = server.requests_for("/tiny.pkl")
    assert "Range" not in first and second["Range"] == f"bytes={cut}-"
    assert same_weights(load_generator(out), G)


def test_server_ignoring_range_restarts_from_zero(server, cache, tiny_pickle):
    data, G, _ = tiny_pickle
    server.honour_range = False
    url = server.serve("/tiny.pkl", data, cut_at=100, cuts_left=1)
    with pytest.raises(DownloadError):
        get_model(url, name="tiny")
    assert same_weights(load_generator(get_model(url, name="tiny")), G)


def test_wrong_sha256_is_refused_and_removed(server, cache, tiny_pickle):
    url = server.serve("/tiny.pkl", tiny_pickle[0])
    with pytest.raises(ChecksumMismatch, match="sha256"):
        get_model(url, name="tiny", sha256="0" * 64)
    assert no_partial_files(cache)
    assert not (cache / "models" / "tiny.safetensors").exists()
    assert not list((cache / "downloads").iterdir())


def test_404_names_the_url(server, cache):
    with pytest.raises(DownloadError, match="HTTP 404"):
        get_model(server.url + "/missing.pkl", name="missing")
    assert no_partial_files(cache)


def test_mirror_replaces_the_base_url(server, cache, tiny_pickle, monkeypatch):
    data, G, _ = tiny_pickle
    server.serve(f"/mirror/{FFHQ.file}", data)
    monkeypatch.setenv("NODEGRAPH_MODEL_MIRROR", server.url + "/mirror")
    out = get_model("stylegan2-ffhq-512")
    assert out == cache / "models" / "stylegan2-ffhq-512.safetensors"
    assert len(server.requests_for(f"/mirror/{FFHQ.file}")) == 1
    assert same_weights(load_generator(out), G)


def test_recorded_sha256_refuses_a_changed_file_unless_accepted(server, cache, tiny_pickle, monkeypatch):
    data, _, _ = tiny_pickle
    monkeypatch.setenv("NODEGRAPH_MODEL_MIRROR", server.url)
    server.serve(f"/{FFHQ.file}", data)
    get_model("stylegan2-ffhq-512")
    first = json.loads((cache / "models" / "checksums.json").read_text())["stylegan2-ffhq-512"]["sha256"]
    changed = data + b"\0"  # same pickle, one more byte: another sha256
    server.serve(f"/{FFHQ.file}", changed, etag='"v2"')
    with pytest.raises(ChecksumMismatch, match="--accept-changed"):
        get_model("stylegan2-ffhq-512", force=True)
    assert json.loads((cache / "models" / "checksums.json").read_text())["stylegan2-ffhq-512"]["sha256"] == first
    get_model("stylegan2-ffhq-512", force=True, accept_changed=True)
    second = json.loads((cache / "models" / "checksums.json").read_text())["stylegan2-ffhq-512"]["sha256"]
    assert second != first


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nodegraph", *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture
def cli_env(cache):
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


def test_cli_server_stopping_mid_file_is_one_line(server, cache, tiny_pickle, cli_env):
    data = tiny_pickle[0]
    url = server.serve("/tiny.pkl", data, cut_at=len(data) // 2, cuts_left=1)
    done = cli("models", "get", url, "--name", "tiny", env=cli_env)
    assert done.returncode != 0
    # stderr holds the progress bar (carriage returns) and then the error, on one line
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "stopped after" in errors[0], done.stderr
    assert done.stderr.rstrip().endswith(errors[0]) and "Traceback" not in done.stderr
    assert not (cache / "models" / "tiny.safetensors").exists()
    assert not (cache / "downloads" / "tiny.pkl").exists()


def test_cli_list_json_has_every_model_and_path(cache, cli_env, tmp_path):
    done = cli("models", "list", "--json", env=cli_env)
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    # the table: the official DragGAN's download list and README extras, StyleGAN3 T/R
    wanted = {"stylegan2-ffhq-512", "stylegan2-afhqcat-512", "stylegan2-lions-512", "stylegan2-dogs-1024",
              "stylegan2-horses-256", "stylegan2-elephants-512", "stylegan2-car-config-f",
              "stylegan2-cat-config-f", "stylegan-human-v2-512", "stylegan-human-v2-1024", "stylegan2-lhq-256"}  # fmt: skip
    wanted |= {f"stylegan3-{v}-{d}" for v in "tr" for d in ("ffhqu-256", "ffhqu-1024", "ffhq-1024", "afhqv2-512", "metfaces-1024", "metfacesu-1024")}  # fmt: skip
    assert wanted <= rows.keys() and len(rows) == len(MODELS)
    assert rows["stylegan-human-v2-512"]["resolution"] == "512x256"
    assert rows["stylegan2-car-config-f"]["file_format"] == "tensorflow"
    assert not any(row["cached"] for row in rows.values())
    missing = cli("models", "path", "stylegan2-ffhq-512", env=cli_env)
    assert missing.returncode != 0 and "nodegraph models get stylegan2-ffhq-512" in missing.stderr
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "stylegan2-ffhq-512.safetensors").write_bytes(b"x")
    found = cli("models", "path", "stylegan2-ffhq-512", env=cli_env)
    assert found.returncode == 0 and found.stdout.strip() == str(cache / "models" / "stylegan2-ffhq-512.safetensors")


def ffhq_project(folder: Path) -> Path:
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint="stylegan2-ffhq-512")
    latent = g.add("Latent", id="latent", seed=1)
    render = g.add("Render", id="render")
    export = g.add("Export", id="export", path="out.png")
    g.connect(gen, "generator", latent, "generator")
    g.connect(gen, "generator", render, "generator")
    g.connect(latent, "latent", render, "latent")
    g.connect(render, "image", export, "image")
    path = folder / "ffhq.ngproj.json"
    g.save(path)
    return path


def test_generator_loads_by_name_from_the_cache(server, cache, tiny_pickle, monkeypatch, tmp_path):
    data, G, _ = tiny_pickle
    monkeypatch.setenv("NODEGRAPH_MODEL_MIRROR", server.url)
    server.serve(f"/{FFHQ.file}", data)
    get_model("stylegan2-ffhq-512")
    g = Graph()
    g.add("Generator", id="generator", checkpoint="stylegan2-ffhq-512", device="cpu")
    assert same_weights(g.value("generator", "generator"), G)


def test_run_refuses_an_uncached_model_then_download_fetches(server, cache, tiny_pickle, monkeypatch, tmp_path, capsys):
    data = tiny_pickle[0]
    monkeypatch.setenv("NODEGRAPH_MODEL_MIRROR", server.url)
    server.serve(f"/{FFHQ.file}", data)
    project = ffhq_project(tmp_path)
    assert main(["run", str(project), "--quiet"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nodegraph models get stylegan2-ffhq-512" in err[0] and "--download" in err[0], err
    assert not server.requests  # nothing was fetched without the user's word
    assert main(["run", str(project), "--quiet", "--download"]) == 0, capsys.readouterr().err
    assert len(server.requests_for(f"/{FFHQ.file}")) == 1
    assert (cache / "models" / "stylegan2-ffhq-512.safetensors").is_file()
    assert (tmp_path / "out.png").is_file()


def test_model_not_cached_message_names_both_fixes():
    text = str(ModelNotCached("stylegan2-ffhq-512"))
    assert "nodegraph models get stylegan2-ffhq-512" in text and "--download" in text
