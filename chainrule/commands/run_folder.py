"""The folder of one ``chainrule train --out DIR`` run: it only ever holds the files of one run.

A run writes, in this order: ``run.json`` (its settings, first), ``history.csv`` (a row per
epoch) and ``backup.ckpt`` (everything needed to resume, after every epoch) while it trains,
then ``model.safetensors`` and ``curves.png``, and finally deletes the backup. Every file is
written atomically (a temporary file renamed into place), so a run killed at any moment leaves
either an unfinished run — settings, the epochs so far, a backup — or a finished one, never a
mix of two runs: a folder that holds a run is not written into again unless the command says
``--resume`` (continue the unfinished run from its last epoch, with bitwise the result of an
uninterrupted run) or ``--overwrite`` (delete that run's files first, the model first).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = RunFolder(Path(tempfile.mkdtemp()) / "run")
    >>> folder.state()
    'empty'
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .common import CommandError

__all__ = ["RunFolder"]


class RunFolder:
    """The files of a ``chainrule train`` run in ``path`` (see the module docstring)."""

    SETTINGS, HISTORY, BACKUP = "run.json", "history.csv", "backup.ckpt"
    MODEL, CURVES = "model.safetensors", "curves.png"
    # deleted in this order by --overwrite: the model first, so a kill leaves no finished run
    FILES = (MODEL, CURVES, HISTORY, BACKUP, SETTINGS)

    def __init__(self, path: Path):
        self.path = path

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def state(self) -> str:
        """``"empty"`` (no run's files), ``"finished"`` (a model and no backup) or
        ``"unfinished"`` (a run that was stopped before it completed)."""
        if self.path.exists() and not self.path.is_dir():
            raise CommandError(f"--out {self.path} is a file; expected a folder for the run's "
                               "files (model.safetensors, history.csv, curves.png)")
        present = {name for name in self.FILES if (self.path / name).exists()}
        if not present:
            return "empty"
        return "finished" if self.MODEL in present and self.BACKUP not in present else (
            "unfinished")

    def start(self, settings: dict, *, resume: bool, overwrite: bool) -> dict:
        """Make the folder ready for a run and return the run's settings: ``settings`` for a
        new run (written to ``run.json``), the recorded ones for ``resume``.

        Raises:
            CommandError: the folder holds a run and neither flag says what to do with it;
                ``resume`` without an unfinished run to continue.
        """
        state = self.state()
        if resume:
            if state != "unfinished":
                raise CommandError(f"--resume: {self.path} holds "
                                   f"{'no run' if state == 'empty' else 'a finished run'} to "
                                   "continue")
            return self.settings()
        if state != "empty":
            if not overwrite:
                raise CommandError(
                    f"{self.path} already holds {'an' if state == 'unfinished' else 'a'} "
                    f"{state} run; add --resume to continue an unfinished run, --overwrite to "
                    "replace it, or choose another --out folder")
            for name in self.FILES:
                (self.path / name).unlink(missing_ok=True)
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_bytes(self.SETTINGS, json.dumps(settings, indent=1).encode())
        return settings

    def settings(self) -> dict:
        """The settings in ``run.json``."""
        try:
            settings = json.loads((self.path / self.SETTINGS).read_text())
        except (OSError, ValueError) as error:
            raise CommandError(f"--resume: cannot read the run's settings in "
                               f"{self.path / self.SETTINGS} ({error})") from None
        if not isinstance(settings, dict):
            raise CommandError(f"--resume: {self.path / self.SETTINGS} is not a JSON object")
        return settings

    def write_bytes(self, name: str, content: bytes) -> None:
        """Write ``name`` in the folder atomically."""
        self.replace_with(name, lambda path: Path(path).write_bytes(content))

    def replace_with(self, name: str, write) -> None:
        """Call ``write(temporary_path)``, then rename the temporary file onto ``name``."""
        fd, temporary = tempfile.mkstemp(dir=self.path, prefix=f".{name}.", suffix=".tmp")
        os.close(fd)
        try:
            write(temporary)
            os.replace(temporary, self.path / name)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def finish(self) -> None:
        """Mark the run finished: the backup goes, last."""
        (self.path / self.BACKUP).unlink(missing_ok=True)
