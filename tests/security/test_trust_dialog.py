"""The editor's trust dialog, its display-free part: which errors it offers to allow, what it
asks, and the permission an answer grants (the dialog itself: tests/editor/test_trust_dialog.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodegraph.errors import NodeError
from nodegraph.trust import Permissions, TrustError, confine

dialog = pytest.importorskip("nodegraph.editor.trust_dialog")


def refusal(tmp_path: Path) -> TrustError:
    with pytest.raises(TrustError) as caught:
        confine("/elsewhere/x.png", tmp_path, Permissions(), "export", "path")
    return caught.value


def test_a_refusal_is_found_behind_a_node_failure(tmp_path):
    error = refusal(tmp_path)
    failure = NodeError("export", "Export", error)
    assert dialog.trust_refusal(failure) is error
    assert dialog.trust_refusal(error) is error


def test_other_errors_open_no_dialog():
    assert dialog.trust_refusal(NodeError("load", "ImageLoad", ValueError("no such file"))) is None
    assert dialog.trust_refusal(None) is None


def test_the_question_names_the_target_and_the_answer_grants_only_that(tmp_path):
    error = refusal(tmp_path)
    assert "/elsewhere/x.png" in dialog.question(error) and "outside" in dialog.question(error)
    assert dialog.allowing(Permissions(), error) == Permissions(write_outside=True)
