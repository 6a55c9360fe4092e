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
import os
from pathlib import Path
from typing import Any, Optional

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from ablab.errors import UserError

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(UserError):
    """The run directory's disk (or quota) is full: the user's to fix, not a bug."""


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Optional[Any] = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            with open(tmp, "wb") as f:  # a Python file, so a full disk raises OSError(ENOSPC), not
                torch.save(checkpoint, f)  # the C++ writer's RuntimeError ("unexpected pos ...")
            os.replace(tmp, path)
        except BaseException as exc:  # Ctrl-C mid-write too: never leave a torn temporary file
            tmp.unlink(missing_ok=True)
            full = disk_full(exc)
            if full is not None:
                raise DiskFull(no_space_message(path, full)) from None
            raise


def disk_full(exc: BaseException) -> Optional[OSError]:
    """The ENOSPC/EDQUOT error behind `exc`: torch's zip writer turns the file's OSError into
    a RuntimeError ("unexpected pos ...") when it closes, so the chain is searched."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def no_space_message(path: Path, exc: OSError) -> str:
    what = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or "disk full").lower()
    return f"{what} writing {path}; free some space and resume the run"
