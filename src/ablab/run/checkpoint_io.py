"""How checkpoints reach the disk: whole or not at all, and a full disk said in one line.

Lightning's TorchCheckpointIO serialises a checkpoint into memory and writes the bytes to
its final name. `AtomicCheckpointIO` (passed to the Trainer in `plugins`) writes to a
temporary name in the same directory and renames it over the old file (os.replace is
atomic within a file system), so last.ckpt is always a whole checkpoint, the previous
one until the new one is complete. A failed write leaves no temporary file behind, and
a full disk becomes `DiskFull`: one line naming the file, no chain of tracebacks.
"""
from __future__ import annotations

import errno
from pathlib import Path
from typing import Any, Optional

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from ablab.errors import UserError
from ablab.paths import atomic_write, disk_full


class DiskFull(UserError):
    """The run directory's disk (or quota) is full: the user's to fix, not a bug."""


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Optional[Any] = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_write(path) as f:  # Ctrl-C mid-write too: never a torn file
                torch.save(checkpoint, f)
        except BaseException as exc:
            full = disk_full(exc)
            if full is not None:
                raise DiskFull(no_space_message(path, full)) from None
            raise


def no_space_message(path: Path, exc: OSError) -> str:
    what = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or "disk full").lower()
    return f"{what} writing {path}; free some space and resume the run"
