"""Training killed with SIGKILL — at a random moment and while it saves — leaves files that
load, and resuming gives bitwise the weights of an uninterrupted run (issue 18): for
``chainrule train --out DIR`` (``--resume``) and for ``cr.fit`` with ``ModelCheckpoint`` and
``BackupAndRestore``. A few kills here; ``make crash`` runs 20 per scenario."""

import pytest

from .harness import campaign


@pytest.mark.parametrize("scenario", ["cli", "fit"])
def test_killed_runs_leave_loadable_files_and_resume_bitwise(tmp_path, scenario):
    outcomes = campaign(scenario, kills=3, seed=1, folder=tmp_path)
    assert all(o["bitwise"] for o in outcomes), outcomes
    assert any(o["killed"] for o in outcomes), outcomes  # (a late kill may find it finished)
