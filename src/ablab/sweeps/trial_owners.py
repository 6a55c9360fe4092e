"""Which process runs a search's trial, and whether it still does (ablab.sweeps.search).

A process that asks a trial stamps it with its host and pid (`ablab:worker`) and, while the
trial's job runs, with the time every `heartbeat_s` seconds (`ablab:alive`), as system
attributes on the study. A RUNNING trial is stale when that process is gone: on this host,
its pid no longer exists (seen at once, e.g. after kill -9); on another host, its stamp is
`STALE_BEATS` heartbeats old (3 minutes at the default 60 s: a lost node, a SLURM time
limit). Optuna's own heartbeat serves only RDB storages and the optimize() loop; this one
works with any storage and ask/tell.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from typing import Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

WORKER = "ablab:worker"  # system attr: "host pid" of the process that asked the trial
ALIVE = "ablab:alive"  # system attr: time.time() of that process's last heartbeat
STALE_BEATS = 3  # heartbeats missed before another host's trial is taken back


def own(study: optuna.Study, trial: optuna.Trial) -> None:
    """Stamp `trial` as this process's, alive now."""
    study._storage.set_trial_system_attr(trial._trial_id, WORKER, _me())
    study._storage.set_trial_system_attr(trial._trial_id, ALIVE, time.time())


def _me() -> str:
    return f"{socket.gethostname()} {os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def is_stale(trial: FrozenTrial, heartbeat_s: float, now: float) -> bool:
    """A RUNNING trial whose process is gone: dead on this host, or silent elsewhere."""
    who = str(trial.system_attrs.get(WORKER, ""))
    if not who or trial.state != TrialState.RUNNING:
        return False  # not one of ablab's (another tool's trial in a shared study): left alone
    host, _, pid = who.rpartition(" ")
    if host == socket.gethostname():
        return int(pid) != os.getpid() and not _pid_alive(int(pid))
    return now - float(trial.system_attrs.get(ALIVE, 0.0)) > STALE_BEATS * heartbeat_s


class Heartbeat:
    """While a batch runs, stamp its trials as alive every `every_s` seconds (a thread)."""

    def __init__(self, study: optuna.Study, trials: Sequence[optuna.Trial], every_s: float) -> None:
        self.study, self.trials, self.every_s = study, list(trials), every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="ablab-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            for trial in self.trials:
                try:
                    self.study._storage.set_trial_system_attr(trial._trial_id, ALIVE, time.time())
                except Exception:  # ended meanwhile: nothing to stamp
                    pass

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
