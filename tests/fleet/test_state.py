"""The last apply in state: written by a completed run, absent from older state files."""

from __future__ import annotations

import json
from pathlib import Path

from provision.engine.state import LastApply, LocalBackend, State, StateStore

OLDER_STATE = {"format": 1, "site_id": "alpha", "lineage": "l-1", "serial": 7,
               "resources": {}, "pending": {}}


def test_state_written_before_last_apply_existed_still_reads(tmp_path: Path) -> None:
    (tmp_path / "alpha").mkdir()
    (tmp_path / "alpha" / "state.json").write_text(json.dumps(OLDER_STATE))
    state = LocalBackend("alpha", tmp_path).load()
    assert (state.lineage, state.serial, state.last_apply) == ("l-1", 7, None)


def test_a_finished_run_is_recorded_and_read_back(tmp_path: Path) -> None:
    backend = LocalBackend("alpha", tmp_path)
    store = StateStore(backend, State("alpha"))
    store.finish("destroy", 26)
    recorded = backend.load().last_apply
    assert isinstance(recorded, LastApply)
    assert (recorded.mode, recorded.steps) == ("destroy", 26)
    assert "@" in recorded.who and recorded.when.endswith("+00:00")
    assert json.loads((tmp_path / "alpha" / "state.json").read_text())["serial"] == 1
