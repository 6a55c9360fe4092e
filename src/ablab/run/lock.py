"""One writer per run directory: a lock file holding the writer's pid and host.

Two processes writing one run directory (two sweeps into one hydra.sweep.dir, the same
command started twice) overwrite each other's checkpoints and results.json. So a run
takes `<run dir>/.ablab.lock`, created with O_CREAT|O_EXCL (atomic on a local disk), for
its whole length; a second process is refused with one line naming the directory and
the holder. A lock left by a dead process of this host is taken over.

Hydra writes `.hydra/` into the job directory before the run starts, so a refused
process has already overwritten the holder's `.hydra/*.yaml`; the holder puts its own
back when it lets go, so the directory's config and results.json agree again.
"""
from __future__ import annotations

import errno
import functools
import os
import socket
import time
from pathlib import Path

from ablab.errors import UserError

LOCK_NAME = ".ablab.lock"


class RunDirInUse(UserError):
    """Another live process writes this run directory."""


class RunLock:
    def __init__(self, run_dir: Path, what: str = ""):
        self.run_dir, self.what = Path(run_dir), what  # what: e.g. "sweep directory", to say so when refused
        self.path = self.run_dir / LOCK_NAME
        self._hydra_files: dict[Path, bytes] = {}

    def acquire(self) -> "RunLock":
        self.run_dir.mkdir(parents=True, exist_ok=True)
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(3):  # a stale lock is removed once, then created afresh; racing takers retry
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _holder(self.path)
                if holder is None and not _old(self.path) or holder is not None and _alive(*holder):
                    pid, host = holder or ("?", "?")
                    raise RunDirInUse(f"{self.what + ' ' if self.what else ''}{self.run_dir} is in use by process {pid} on {host} "
                                      f"(lock {self.path}); wait for it to end, or use another directory")
                self.path.unlink(missing_ok=True)  # the holder is dead: take its lock over
                continue
            with os.fdopen(fd, "w") as f:
                f.write(me)
            self._hydra_files = {p: p.read_bytes() for p in (self.run_dir / ".hydra").glob("*.yaml")}
            return self
        raise RunDirInUse(f"{self.run_dir} is in use: its lock {self.path} keeps being taken")

    def release(self) -> None:
        for path, content in self._hydra_files.items():
            try:
                if path.read_bytes() != content:  # a refused process's Hydra rewrote our config
                    path.write_bytes(content)
            except OSError:
                pass
        if _holder(self.path) == (os.getpid(), socket.gethostname()):
            self.path.unlink(missing_ok=True)


def held_elsewhere(run_dir: Path) -> bool:
    """Whether another live process writes `run_dir` now (e.g. a job of another worker of one
    search, sharing its sweep directory): not this process's job to count."""
    holder = _holder(Path(run_dir) / LOCK_NAME)
    return holder is not None and holder != (os.getpid(), socket.gethostname()) and _alive(*holder)


def _holder(path: Path) -> tuple[int, str] | None:
    try:
        pid, host = path.read_text().split()
        return int(pid), host
    except (OSError, ValueError):  # being written this instant, or garbage
        return None


def _old(path: Path, seconds: float = 30.0) -> bool:
    """An unreadable lock this old was left by a process killed as it wrote it."""
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return True


def _alive(pid: int, host: str) -> bool:
    if host != socket.gethostname():
        return True  # another machine's process: cannot tell, so do not take its directory
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True  # our own pid too: this process writes that directory already


def one_writer(run_dir_of):
    """Decorator: hold the lock of the run directory `run_dir_of()` names while the run runs
    (no lock when it returns None: a DDP rank other than 0 writes nothing)."""

    def wrap(task):
        @functools.wraps(task)
        def locked(*args, **kwargs):
            run_dir = run_dir_of()
            lock = RunLock(run_dir).acquire() if run_dir is not None else None
            try:
                return task(*args, **kwargs)
            finally:
                if lock is not None:
                    lock.release()

        return locked

    return wrap
