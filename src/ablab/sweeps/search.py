"""A hyper-parameter search on Optuna's ask/tell interface, in a study that outlives its process.

The `search` sweeper (hydra_plugins/ablab_sweepers/optuna_sweeper.py) opens the study and
calls `Search.run` with a function that launches jobs. Each round asks the study for up to
`n_jobs` trials, launches them as normal jobs (a directory and results.json each), and tells
the study how each ended, read from its results.json: `completed` gives the metric,
`pruned` (ablab.sweeps.pruning stopped it) is Optuna's PRUNED, anything else FAIL.

The study lives in a storage, by default the journal file <sweep dir>/optuna.journal
(Optuna's JournalStorage; its file lock lets several processes append to it). So:
- `n_trials` counts the study's trials, not this process's: the same command run again
  (with its hydra.sweep.dir) carries on where the search stopped, and two processes or
  machines given one storage share one budget of trials.
- A trial's job directory is <sweep dir>/<job>, where job = the trial's number. A trial whose
  process died (kill -9, a lost node) or was interrupted is failed and enqueued again with
  the same parameters and the same job number, so its run goes on from its last.ckpt; the
  failed original is not counted. A process's trials carry its host and pid; a trial of a
  dead process on this host is taken back at once, one of another host when its heartbeat
  (written every `heartbeat_s` seconds while it runs) is 3 heartbeats old.
- Every trial is asked from the study: two workers never get the same trial, and a trial
  asked beyond the budget by a racing worker is given back unrun.
With a launcher whose launch calls may overlap (the devices launcher), n_jobs trials run all
the time instead of in rounds, each replaced as soon as it ends.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from ablab.sweeps.search_space import SearchSpace
from ablab.sweeps.trial_owners import Heartbeat, is_stale, own

log = logging.getLogger(__name__)
JOURNAL = "optuna.journal"  # the study's default storage, in the sweep directory
JOB = "job"  # user attr: the job number (directory) a trial runs in
SWEEP = "sweep_dir"  # user attr: the sweep directory it runs in
RETRY_OF = "retry_of"  # user attr of a retry: the number of the trial it runs again
SURPLUS = "surplus"  # user attr of a trial asked past the budget and given back unrun


def storage_url(storage: Optional[str], sweep_dir: Path) -> str:
    """What the study lives in, as a user would pass it to optuna-dashboard: a database URL
    (sqlite:///search.db, postgresql://...), a Redis URL, or a journal file's path."""
    return str(storage) if storage else str(Path(sweep_dir) / JOURNAL)


def open_storage(url: str):
    """A database URL as Optuna's RDBStorage, redis://... as a journal in Redis, anything else a
    journal file (the three optuna-dashboard tells apart the same way)."""
    from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

    if url.startswith("redis"):
        return optuna.storages.JournalStorage(JournalRedisBackend(url))
    if "://" in url:
        return optuna.storages.RDBStorage(url)

    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(url))


def counted(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that use the budget: all but failed ones that a retry runs again, and those
    given back unrun."""
    replaced = {t.user_attrs.get(RETRY_OF) for t in trials if RETRY_OF in t.user_attrs}
    return [t for t in trials
            if not (t.state == TrialState.FAIL and (t.number in replaced or t.user_attrs.get(SURPLUS)))]


@dataclass
class Ended:
    """How one trial's job ended, from its results.json."""

    status: str  # completed | pruned | failed | diverged | interrupted | ...
    value: Optional[float] = None  # the metric, for a completed job


class Search:
    def __init__(self, study: optuna.Study, space: SearchSpace, n_trials: int, n_jobs: int,
                 sweep_dir: Path, heartbeat_s: float = 60.0) -> None:
        self.study, self.space = study, space
        self.n_trials, self.n_jobs = int(n_trials), max(1, int(n_jobs))
        self.sweep_dir = Path(sweep_dir).resolve()
        self.heartbeat_s = float(heartbeat_s)
        self.ran = 0  # trials this process told

    # ---- the loop ----
    def run(self, launch: Callable[[list[list[str]], int], list[Ended]], overlapping: bool = False) -> None:
        """launch(overrides of consecutive jobs, first job number) -> how each ended.

        In rounds of up to n_jobs trials, launched together; or, `overlapping` (a launcher
        whose launch calls may run at once, as the devices launcher's), n_jobs trials always
        running, each launched alone and replaced as soon as it ends: a pruned trial's GPU
        takes the next trial instead of waiting for the round's longest."""
        if overlapping and self.n_jobs > 1:
            return self._run_overlapping(launch)
        while True:
            self.reclaim()
            batch = self.ask()
            if not batch:
                return
            self._run_batch(batch, launch)

    def _run_batch(self, batch: list[tuple[optuna.Trial, int]], launch) -> None:
        try:
            with Heartbeat(self.study, [t for t, _ in batch], self.heartbeat_s):
                for group in _consecutive(batch):
                    ended = launch([self.space.overrides(t.params) for t, _ in group], group[0][1])
                    for (trial, _), how in zip(group, ended):
                        self.tell(trial, how)
        except BaseException:  # interrupted: what did not end runs again, from its checkpoint
            for trial, _ in batch:
                self.retry(trial._trial_id, "interrupted")
            raise

    def _run_overlapping(self, launch) -> None:
        stop, asking, errors = threading.Event(), threading.Lock(), []

        def keep_one_running() -> None:
            try:
                while not stop.is_set():
                    with asking:  # the budget is counted and spent by one thread at a time
                        self.reclaim()
                        batch = self.ask(limit=1)
                    if not batch:
                        return
                    self._run_batch(batch, launch)
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        threads = [threading.Thread(target=keep_one_running, name=f"ablab-trial-{i}", daemon=True)
                   for i in range(self.n_jobs)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)  # a short wait, so that Ctrl-C reaches this thread
        except BaseException:
            stop.set()  # nothing new starts; the running trials end and are told (or given back)
            for thread in threads:
                thread.join()
            raise
        if errors:
            raise errors[0]

    def ask(self, limit: Optional[int] = None) -> list[tuple[optuna.Trial, int]]:
        """Up to `limit` (n_jobs) trials with their job numbers, within the study's budget."""
        batch = []
        while len(batch) < (limit or self.n_jobs):
            trials = self.study.get_trials(deepcopy=False)
            if len(counted(trials)) >= self.n_trials and not any(t.state == TrialState.WAITING for t in trials):
                break
            trial = self.study.ask(self.space.distributions)
            job = trial.user_attrs.get(JOB)  # a retry's: the job it runs again
            if job is None:
                ahead = [t for t in counted(self.study.get_trials(deepcopy=False)) if t.number < trial.number]
                if len(ahead) >= self.n_trials:  # another worker took the last place first
                    trial.set_user_attr(SURPLUS, True)
                    self.study.tell(trial, state=TrialState.FAIL)
                    break
                job = trial.number
                trial.set_user_attr(JOB, job)
            trial.set_user_attr(SWEEP, str(self.sweep_dir))
            own(self.study, trial)
            batch.append((trial, int(job)))
        return batch

    def tell(self, trial: optuna.Trial, how: Ended) -> None:
        try:
            trial.set_user_attr("status", how.status)
            if how.status == "interrupted":  # stopped by a signal: runs again, from its last.ckpt
                self.retry(trial._trial_id, "was interrupted")
                return
            if how.status == "completed" and how.value is not None:
                self.study.tell(trial, how.value)
            else:
                self.study.tell(trial, state=TrialState.PRUNED if how.status == "pruned" else TrialState.FAIL)
            self.ran += 1
        except (ValueError, RuntimeError) as exc:  # taken back as stale by another worker meanwhile
            log.warning(f"optuna: trial {trial.number} was taken back by another worker ({exc}); "
                        "its job directory keeps what it wrote")

    # ---- trials whose process is gone ----
    def reclaim(self) -> int:
        """Fail and enqueue again every stale trial of the study; how many this process took."""
        now, taken = time.time(), 0
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if is_stale(t, self.heartbeat_s, now):
                taken += self.retry(t._trial_id, "its process is gone")
        return taken

    def retry(self, trial_id: int, why: str) -> int:
        """Fail a RUNNING trial and enqueue its parameters for the same job; 1 when this process
        did (another worker may have ended it first: then 0, and it enqueued the retry)."""
        trial = self.study._storage.get_trial(trial_id)
        if trial.state != TrialState.RUNNING:
            return 0
        try:
            self.study.tell(trial.number, state=TrialState.FAIL)
        except (ValueError, RuntimeError):  # UpdateFinishedTrialError is a RuntimeError
            return 0
        job = trial.user_attrs.get(JOB, trial.number)
        self.study.enqueue_trial(trial.params, user_attrs={JOB: job, RETRY_OF: trial.number})
        log.info(f"optuna: trial {trial.number} (job {job}) {why}; it runs again as the next trial")
        return 1

    # ---- the outcome ----
    def summary(self) -> dict:
        trials = counted(self.study.get_trials(deepcopy=False))
        states = {s.name.lower(): sum(1 for t in trials if t.state == s) for s in TrialState}
        out = {"name": "optuna", "study": self.study.study_name, "trials": {k: v for k, v in states.items() if v}}
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        if done:
            best = self.study.best_trial
            out.update(best_params=dict(best.params), best_value=best.value, best_trial=best.number,
                       best_job=best.user_attrs.get(JOB, best.number))
        return out


def _consecutive(batch: list[tuple[optuna.Trial, int]]) -> list[list[tuple[optuna.Trial, int]]]:
    """The batch in runs of consecutive job numbers: a launcher numbers a call's jobs from its first."""
    groups: list[list[tuple[optuna.Trial, int]]] = []
    for item in sorted(batch, key=lambda x: x[1]):
        if groups and groups[-1][-1][1] + 1 == item[1]:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups
