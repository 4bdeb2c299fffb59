"""`nodegraph models get URL` against a server on 127.0.0.1: a full download, a cut one resumed
with Range, a wrong sha256, a server that stops mid-file, a 404; never a partial file under
the final name."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from nodegraph.cli import main
from nodes.gan import load_generator

REPO = Path(__file__).parents[2]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_get_url_downloads_converts_and_caches_with_the_sha256_recorded(
    server, cache, tiny_pickle, capsys
):
    data, G, marker = tiny_pickle
    url = server.serve("/nets/tiny-net.pkl", data)
    assert main(["models", "get", url]) == 0
    out = Path(capsys.readouterr().out.strip())
    assert out == cache / "models" / "tiny-net.safetensors"
    loaded = load_generator(out)
    for name, tensor in G.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    recorded = json.loads((cache / "models" / "checksums.json").read_text())
    assert recorded[f"url:{url}"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert recorded[f"url:{url}"]["bytes"] == len(data)
    assert files_in(cache / "downloads") == []  # the pickle is removed once converted
    assert not marker.exists()


def test_a_cut_download_leaves_only_a_part_file_and_the_next_get_resumes_it(
    server, cache, tiny_pickle, capsys
):
    data = tiny_pickle[0]
    cut = len(data) // 3
    url = server.serve("/tiny.pkl", data, cut_at=cut, cuts_left=1)
    assert main(["models", "get", url]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    kept = (cache / "downloads" / "tiny.pkl.part").stat().st_size  # the whole chunks received
    assert 0 < kept <= cut
    assert f"stopped after {kept:,} of {len(data):,} bytes" in err and "again to resume" in err
    assert files_in(cache / "downloads") == ["tiny.pkl.part", "tiny.pkl.part.json"]
    assert files_in(cache / "models") == []
    assert main(["models", "get", url]) == 0
    second = server.requests_for("/tiny.pkl")[1]
    assert second["Range"] == f"bytes={kept}-" and second["If-Range"] == '"v1"'
    recorded = json.loads((cache / "models" / "checksums.json").read_text())
    assert recorded[f"url:{url}"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert (cache / "models" / "tiny.safetensors").is_file()


def test_a_server_that_ignores_range_restarts_the_file_from_the_start(server, cache, tiny_pickle):
    data = tiny_pickle[0]
    url = server.serve("/tiny.pkl", data, cut_at=100, cuts_left=1)
    assert main(["models", "get", url]) == 1
    server.honour_range = False
    assert main(["models", "get", url]) == 0
    recorded = json.loads((cache / "models" / "checksums.json").read_text())
    assert recorded[f"url:{url}"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_complete_part_file_the_server_has_nothing_more_for_is_finished(
    server, cache, tiny_pickle
):
    data = tiny_pickle[0]
    url = server.serve("/tiny.pkl", data, cut_at=len(data), cuts_left=1)  # all bytes, then cut
    downloads = cache / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "tiny.pkl.part").write_bytes(data)  # as a kill before the rename leaves it
    (downloads / "tiny.pkl.part.json").write_text(
        json.dumps({"url": url, "validator": '"v1"', "total": len(data)})
    )
    assert main(["models", "get", url]) == 0
    assert server.requests_for("/tiny.pkl")[0]["Range"] == f"bytes={len(data)}-"  # answered 416
    assert (cache / "models" / "tiny.safetensors").is_file()


def test_a_wrong_sha256_is_refused_in_one_line_and_nothing_is_kept(
    server, cache, tiny_pickle, capsys
):
    url = server.serve("/tiny.pkl", tiny_pickle[0])
    assert main(["models", "get", url, "--sha256", "0" * 64]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert (
        "sha256 is " in err and "not the expected 0000000000000000..." in err and "removed" in err
    )
    assert files_in(cache / "downloads") == [] and files_in(cache / "models") == []


def test_a_file_that_changed_since_its_first_download_is_refused_unless_accepted(
    server, cache, tiny_pickle, capsys
):
    data = tiny_pickle[0]
    url = server.serve("/tiny.pkl", data)
    assert main(["models", "get", url]) == 0
    server.serve("/tiny.pkl", data + b"\0", etag='"v2"')  # the server now serves another file
    assert main(["models", "get", url, "--force"]) == 1
    err = capsys.readouterr().err
    assert "first recorded for tiny" in err and "--accept-changed" in err
    assert main(["models", "get", url, "--force", "--accept-changed"]) == 0
    recorded = json.loads((cache / "models" / "checksums.json").read_text())
    assert recorded[f"url:{url}"]["sha256"] == hashlib.sha256(data + b"\0").hexdigest()


def test_a_404_is_one_line_naming_the_url(server, cache, capsys):
    assert main(["models", "get", server.url + "/absent.pkl"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "HTTP 404" in err and "/absent.pkl" in err
    assert files_in(cache / "downloads") == []


def test_the_console_command_stopped_mid_file_exits_1_without_a_traceback(
    server, cache, tiny_pickle
):
    data = tiny_pickle[0]
    url = server.serve("/tiny.pkl", data, cut_at=len(data) // 2, cuts_left=1)
    env = dict(os.environ, PYTHONPATH=str(REPO), NODEGRAPH_CACHE=str(cache))
    done = subprocess.run(
        [sys.executable, "-m", "nodegraph", "models", "get", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "stopped after" in lines[0] and "Traceback" not in done.stderr
    assert not (cache / "downloads" / "tiny.pkl").exists()
    assert 0 < (cache / "downloads" / "tiny.pkl.part").stat().st_size <= len(data) // 2


def test_a_hostile_pickle_is_refused_and_runs_nothing(server, cache, tmp_path, capsys):
    import pickle

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    url = server.serve("/evil.pkl", pickle.dumps({"G_ema": Evil()}))
    assert main(["models", "get", url]) == 2
    assert "refusing global" in capsys.readouterr().err
    assert not marker.exists() and files_in(cache / "models") == ["checksums.json"]
    assert files_in(cache / "downloads") == ["evil.pkl"]  # verified, kept: no second download


def test_only_http_urls_are_fetched(cache, capsys):
    assert main(["models", "get", "file:///etc/passwd"]) == 2
    assert "only http and https" in capsys.readouterr().err
