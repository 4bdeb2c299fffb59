"""`nodegraph info` and `nodegraph convert`: what they print and their exit status."""

from __future__ import annotations

from nodes.gan import load_generator, save_generator
from nodes.gan.cli import convert_command, info_command
from tests.gan.nvidia_pickle import network_pickle_bytes


def test_info_prints_config_resolution_num_ws_and_parameter_count(tmp_path, capsys, tiny_generator):
    path = save_generator(tiny_generator, tmp_path / "g.safetensors")
    assert info_command([str(path)]) == 0
    out = capsys.readouterr().out
    n_params = sum(p.numel() for p in tiny_generator.parameters())
    assert "resolution   32x32, 3 channels" in out
    assert "num_ws       8" in out
    assert f"parameters   {n_params:,}" in out
    assert "channel_base" in out and "conv_clamp" in out


def test_info_on_a_bad_file_exits_2_with_the_reason(tmp_path, capsys):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"garbage")
    assert info_command([str(path)]) == 2
    assert "not a safetensors file" in capsys.readouterr().err
    assert info_command([str(tmp_path / "absent.safetensors")]) == 2
    assert "no such checkpoint file" in capsys.readouterr().err


def test_info_reads_a_network_pickle_without_converting_it(tmp_path, capsys, tiny_generator):
    pkl = tmp_path / "net.pkl"
    pkl.write_bytes(network_pickle_bytes(tiny_generator, str(tmp_path / "marker")))
    assert info_command([str(pkl)]) == 0
    assert "NVIDIA network pickle" in capsys.readouterr().out


def test_convert_writes_a_loadable_checkpoint(tmp_path, capsys, tiny_generator):
    pkl = tmp_path / "net.pkl"
    pkl.write_bytes(network_pickle_bytes(tiny_generator, str(tmp_path / "marker")))
    out = tmp_path / "g.safetensors"
    assert convert_command([str(pkl), str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert load_generator(out).config.img_resolution == 32


def test_convert_of_an_unsafe_pickle_exits_2(tmp_path, capsys):
    pkl = tmp_path / "evil.pkl"
    pkl.write_bytes(b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.")
    assert convert_command([str(pkl), str(tmp_path / "g.safetensors")]) == 2
    assert "refusing global posix.system" in capsys.readouterr().err
    assert not (tmp_path / "g.safetensors").exists()
