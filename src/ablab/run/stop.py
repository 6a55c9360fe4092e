"""Whether a stop signal (Ctrl-C's SIGINT, a scheduler's SIGTERM) reached this process, and the
one stop it means: the running job ends `interrupted` with its last finished epoch
checkpointed, nothing new starts, and the process exits 128 + the signal's number
(130 for SIGINT, 143 for SIGTERM), as a shell reports a process the signal ended.

The entry points install `watch()`. Its handler records the first signal and then:

- during a Lightning fit, validate or test (Lightning's own SIGTERM handler is installed and
  calls this one after its own), SIGTERM is left to Lightning: its loops raise
  `SIGTERMException` at the end of the batch in flight, so the run ends between two batches
  and its `last.ckpt` (the last finished epoch) stays as it is;
- anywhere else (loading data, between jobs, in a sweeper or a study between stages) it
  raises `Stopped` (a KeyboardInterrupt, so every place that ends a run on Ctrl-C ends it on
  SIGTERM too); SIGINT raises KeyboardInterrupt, as Python's own handler does.

The loops that start work (a sweep's jobs, a sweeper's batches, a fused launcher's groups, a
study's stages) call `check()` before each start, so a stop that Lightning absorbed (it came
in a job's last moments, and the job completed) still starts nothing new. Code that ends a
run asks `requested()` before calling a failure a failure: Lightning turns Ctrl-C into
sys.exit(1), and a signal inside torch's zip writer surfaces as a RuntimeError.

A process whose jobs run in worker processes of its own (the devices launcher's) names them
with `forward(...)`: the first signal is sent on to each, whose own handler (watch(), installed
there too) ends its job as above. A scheduler's SIGTERM goes to the job's one pid, so without
this the workers would train on while the parent waits for them.

A second signal while the first is being handled (a second Ctrl-C, a scheduler's repeated
SIGTERM) is recorded and changes nothing: the interrupted run's results.json is written whole
and the exit code is the first signal's. Only SIGKILL (a scheduler's end of the grace period,
`kill -9`) ends the process at once; the same command then still resumes from the last
finished epoch (ablab.run.resume).
"""
import os
import signal
from collections.abc import Callable, Iterable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received: list[int] = []  # the signals this process got, in order
_forwards: list[Callable[[], Iterable[int]]] = []  # each gives the ids of worker processes to pass a stop to


class Stopped(KeyboardInterrupt):
    """Raised where a stop signal finds the process outside Lightning's loops."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def watch() -> None:
    """Install the stop handler for SIGINT and SIGTERM (main thread only, as Python requires)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)


def forward(processes: Callable[[], Iterable[int]]) -> None:
    """On the first stop signal, send it on to the processes `processes()` names then (asked at
    that moment: a pool may have replaced a worker since)."""
    _forwards.append(processes)


def _send_on(signum: int) -> None:
    for processes in list(_forwards):
        try:
            pids = list(processes())
        except RuntimeError:  # the pool changed while it was read: no worker is lost by skipping it
            continue
        for pid in pids:
            try:
                os.kill(pid, signum)
            except OSError:  # it ended meanwhile
                pass


def _on_signal(signum: int, frame) -> None:
    _received.append(signum)
    if len(_received) > 1:
        return  # the stop is under way: let it write the interrupted run whole
    _send_on(signum)  # the workers stop their jobs as this process does
    if signum == signal.SIGTERM and signal.getsignal(signal.SIGTERM) is not _on_signal:
        return  # Lightning's handler is installed (and called this one): its loops end the fit at this batch's end
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Stopped(signum)


def requested() -> bool:
    """Whether a stop signal arrived in this process."""
    return bool(_received)


def exit_code() -> int:
    """The exit code of a process stopped by the first signal it got: 128 + its number."""
    return 128 + (_received[0] if _received else signal.SIGINT)


def name() -> str:
    """The first stop signal, as a person reads it: "Ctrl-C (SIGINT)" or "SIGTERM"."""
    signum = _received[0] if _received else signal.SIGINT
    return "Ctrl-C (SIGINT)" if signum == signal.SIGINT else signal.Signals(signum).name


def check() -> None:
    """Raise Stopped when a stop was requested: called before any job, batch, group or stage starts."""
    if _received:
        raise Stopped(_received[0])


def reset() -> None:
    """Forget the signals received and the processes to send them on to (tests; a Python session
    that runs again after a stop)."""
    _received.clear()
    _forwards.clear()
