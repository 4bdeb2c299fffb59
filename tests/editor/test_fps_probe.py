"""The fps probe's summary of an fps log (no display needed)."""

import pytest

from nodegraph.editor.fps_probe import read_log, summarise

LOG = """# seconds frames fps cpu_percent state
1.0 28 28.0 74.6 idle
2.0 1 1.0 3.5 idle
3.0 1 1.0 4.5 idle
4.0 20 19.7 93.9 idle
5.0 22 22.0 150.0 running
6.0 40 40.0 170.0 running
7.0 34 34.0 172.0 running
8.0 47 46.3 165.4 running
9.0 49 48.3 158.2 idle
"""


def test_summary_leaves_out_start_up_and_partial_running_seconds(tmp_path):
    path = tmp_path / "fps.log"
    path.write_text(LOG)
    rows = read_log(path)
    assert rows[0] == (1.0, 28, 28.0, 74.6, "idle")
    figures = summarise(rows, idle_until=3.0)
    assert figures["idle_cpu_percent"] == pytest.approx(4.0)  # seconds 2 and 3, not 1 (start-up)
    assert figures["running_seconds"] == 2  # 6 and 7: the first and last running seconds dropped
    assert figures["fps_min"] == 34.0
    assert figures["fps_median"] == pytest.approx(37.0)


def test_summary_refuses_a_log_without_a_run(tmp_path):
    path = tmp_path / "fps.log"
    path.write_text("# header\n1.0 3 3.0 5.0 idle\n2.0 1 1.0 5.0 idle\n")
    with pytest.raises(RuntimeError, match="0 running seconds"):
        summarise(read_log(path), idle_until=2.0)
