"""Lightning callbacks the fault-injection tests add to a train.py run (`+callbacks.x._target_=...`)."""
import os
import signal
import time
from pathlib import Path

import pytorch_lightning as pl


class KillAt(pl.Callback):
    """SIGKILL this process in the middle of epoch `epoch` (after `batch` batches): no handler,
    no finally, as when the machine or the OOM killer ends a job. `slow_s` sleeps in epoch 0,
    before its checkpoint, so the time of the killed part is plain to see. With `once`, a path:
    only when it does not exist (it is made just before the kill), so the same command, run
    again, goes on."""

    fusable = True  # in a fused group it kills the group's process, as the test wants

    def __init__(self, epoch: int = 1, batch: int = 1, slow_s: float = 0.0, once: str = ""):
        self.epoch, self.batch, self.slow_s, self.once = epoch, batch, slow_s, once

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == 0 and self.slow_s:
            time.sleep(self.slow_s)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx + 1 == self.batch:
            if self.once:
                if Path(self.once).exists():
                    return
                Path(self.once).touch()
            os.kill(os.getpid(), signal.SIGKILL)


class WaitForFile(pl.Callback):
    """Hold the run at its start until `path` exists (at most `timeout_s`), so a test can act
    while this run holds its directory; `<path>.waiting` says the run got there."""

    def __init__(self, path: str, timeout_s: float = 120.0):
        self.path, self.timeout_s = Path(path), timeout_s

    def on_train_start(self, trainer, pl_module):
        self.path.with_name(self.path.name + ".waiting").touch()
        deadline = time.monotonic() + self.timeout_s
        while not self.path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


class SlowEpochs(pl.Callback):
    """Sleep `seconds` at the end of every training epoch, so a run's time is plain to see."""

    def __init__(self, seconds: float = 1.0):
        self.seconds = seconds

    def on_train_epoch_end(self, trainer, pl_module):
        time.sleep(self.seconds)


class FailAtStart(pl.Callback):
    """Raise a plain error as training starts when `fail` is true: a job that fails at run time,
    after every check up front passed."""

    def __init__(self, fail: bool = True):
        self.fail = fail

    def on_train_start(self, trainer, pl_module):
        if self.fail:
            raise RuntimeError("injected failure")


class NeedsFile(pl.Callback):
    """A user error at run time, as training starts, unless `path` exists: a job that fails
    alone after every up-front check passed, and succeeds once the file is there."""

    def __init__(self, path: str):
        self.path = Path(path)

    def on_train_start(self, trainer, pl_module):
        from ablab.errors import DataError

        if not self.path.exists():
            raise DataError(f"{self.path} not found")



class SignalAt(pl.Callback):
    """Send this process `signal` (SIGTERM, SIGINT) after batch `batch` of epoch `epoch`, as a
    scheduler's preemption or Ctrl-C would, once per `once` path (as KillAt): the same command,
    run again, goes on. With `again`, the same signal once more while the run is stopping
    (Lightning's on_exception), as an impatient user or a scheduler's second notice sends it.
    With `parent`, the signal goes to the parent process alone (a launcher's worker's parent),
    as a scheduler sends it to the job's one pid."""

    fusable = True  # in a fused group it signals the group's process, as the test wants

    def __init__(self, signal: str = "SIGTERM", epoch: int = 1, batch: int = 1, once: str = "", again: bool = False,
                 parent: bool = False):
        self.name, self.epoch, self.batch, self.once, self.again = signal, epoch, batch, once, again
        self.parent = parent

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx + 1 == self.batch:
            if self.once:
                if Path(self.once).exists():
                    return
                Path(self.once).touch()
            os.kill(os.getppid() if self.parent else os.getpid(), getattr(signal, self.name))

    def on_exception(self, trainer, pl_module, exception):
        if self.again:
            self.again = False
            os.kill(os.getpid(), getattr(signal, self.name))
