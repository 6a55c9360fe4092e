"""Where things are and how files are written: the config directory, a path as a user would
type it, and the one atomic write that results.json, checkpoints and the data cache share."""
import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from ablab.errors import UserError

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)

# conf/ at the repository root, shipped inside the package as ablab/conf (a link in the
# source tree, real files in a wheel), so an installed ablab runs from any directory.
CONF_DIR = str(Path(__file__).resolve().parent / "conf")


def shown(path) -> str:
    """`path` relative to the working directory when under it, else absolute."""
    try:
        resolved = Path(path).resolve()
        return os.path.relpath(resolved) if resolved.is_relative_to(Path.cwd()) else str(resolved)
    except (OSError, ValueError):
        return str(path)


@contextmanager
def atomic_write(path: Path):
    """Yield a binary file that replaces `path` when the block ends: a reader sees the old
    file or the new one, never half of one. Written through a Python file object, so a full
    disk raises OSError (ENOSPC), not the RuntimeError of torch's C++ writer; on any error,
    Ctrl-C included, the temporary file is removed and the error goes on."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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


def writable(folder: Path) -> bool:
    """Whether ablab may write into `folder`: its mode grants some write bit, and creating and
    deleting a file there works. os.access alone says yes to root everywhere but read-only mounts."""
    try:
        if not os.stat(folder).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            return False
        fd, probe = tempfile.mkstemp(prefix=".ablab-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
        return True
    except OSError:
        return False


def writable_dir(path, what: str, choose: str) -> None:
    """Create `path` (a directory ablab will write) or find it there and writable; else raise
    UserError naming `what` it is and how to `choose` another, before any work starts."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the {what} {shown(path)} ({exc.strerror or exc}); choose another: {choose}") \
            from None
    if not writable(path):
        raise UserError(f"cannot write into the {what} {shown(path)}; choose another: {choose}")


def remove_if_empty(folder) -> None:
    """Remove `folder` if it is empty (made for work that was then refused); else leave it."""
    try:
        Path(folder).rmdir()
    except OSError:
        pass  # not empty (an earlier sweep's jobs are there), or gone
