"""Module paths from before the package had run/ and cli/ (issue 26), kept importable.

Checkpoints and users' own configs name objects by import path (a `_target_`, a pickled
class), and installed console scripts name `ablab.commands`: each old name below imports
the module that now holds the code, under the old name too, so they keep loading.
"""
import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {
    "ablab.callbacks": "ablab.run.callbacks",
    "ablab.checkpoint": "ablab.run.checkpoint",
    "ablab.checkpoint_io": "ablab.run.checkpoint_io",
    "ablab.commands": "ablab.cli.commands",
    "ablab.cuda_probe": "ablab.run.cuda_probe",
    "ablab.devices": "ablab.run.devices",
    "ablab.distributed": "ablab.run.distributed",
    "ablab.evaluate": "ablab.run.evaluate",
    "ablab.hints": "ablab.cli.hints",
    "ablab.predict": "ablab.run.predict",
    "ablab.quiet": "ablab.cli.quiet",
    "ablab.results": "ablab.run.results",
    "ablab.results_writer": "ablab.run.results_writer",
    "ablab.resumable": "ablab.run.resume.state",
    "ablab.resume_from": "ablab.run.resume.start",
    "ablab.run_lock": "ablab.run.lock",
    "ablab.sigint": "ablab.run.stop",
    "ablab.summary": "ablab.run.summary",
    "ablab.sweeps.resume": "ablab.run.resume.earlier",
}


class _OldName(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and loads it as the module it moved to (the same object)."""

    def find_spec(self, fullname, path=None, target=None):
        return importlib.util.spec_from_loader(fullname, self) if fullname in MOVED else None

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name])  # keeps its own __name__ and __spec__

    def exec_module(self, module) -> None:
        pass  # the new module ran when it was imported


def install() -> None:
    if not any(isinstance(f, _OldName) for f in sys.meta_path):
        sys.meta_path.append(_OldName())
