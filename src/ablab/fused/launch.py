"""Run a batch of sweep jobs: fusable ones as fused groups, the rest one by one.

For each batch the sweeper hands over (all of a basic sweep, an OFAT step, a greedy step):
1. compose every job's config, as Hydra's basic launcher does;
2. group the jobs by `grouping.key`, leaving out those `grouping.reason_alone` names;
3. run each group's jobs, each inside its own Hydra `run_job`, nested (`Nest`): a job's task
   prepares its run (run/train.py `prepare`) and runs the next job's run_job inside it; the
   innermost trains the prepared members. What only a prepared member can tell (a layer without
   a fused form, its size on a CPU) rules out the whole group, and the members are split further
   by their split sizes, batches per epoch, penalty kind and the epoch they resume from, and
   capped at `max_members` and by memory;
4. each group trains as one fused model (`train_group`), which validates and tests every
   member's best epoch in one pass (fused/finish.py);
5. as the run_jobs return, each task finishes its run (run/train.py `finish`) with what its group
   measured, in its own job directory, entered once: its results.json is a separate run's.
Jobs run one by one when they cannot be fused, and the launcher says why in one line.
"""
from __future__ import annotations

import functools
import math
import os
import sys
import time
import warnings
from collections import defaultdict
from dataclasses import replace

from hydra.core.utils import JobReturn, configure_log, run_job

from ablab.fused import grouping
from ablab.fused.group import (bytes_per_member, free_bytes, renumber, split_key, train_group,
                               unsupported_member)
from ablab.fused.jobs import SweepJob, compose
from ablab.fused.members import Member, SharedClock, ordered
from ablab.fused.views import TrainerView
from ablab.run.callbacks import Diverged
from ablab.run import stop, sweep_output
from ablab.run.lock import job_dir, one_writer
from ablab.run.resume.earlier import earlier_run
from ablab.run.train import Job, finish, fit, prepare, recorded


def say(line: str) -> None:
    print(f"ablab: fused launcher: {line}", file=sys.stderr, flush=True)


def jobs_named(nums: list[int]) -> str:
    return f"job {nums[0]}" if len(nums) == 1 else f"jobs {', '.join(map(str, nums))}"


def launch(launcher, job_overrides, initial_job_idx: int) -> list[JobReturn]:
    jobs = compose(launcher, job_overrides, initial_job_idx)
    by_key: dict[str, list[SweepJob]] = defaultdict(list)
    alone: dict[str, list[SweepJob]] = defaultdict(list)
    for job in jobs:
        why = grouping.reason_alone(job.cfg)
        if why:
            alone[why].append(job)
        else:
            by_key[grouping.key(job.cfg)].append(job)
    for why, these in alone.items():
        say(f"{jobs_named([j.idx for j in these])} one by one: {why}")
    returns: dict[int, JobReturn] = {}
    # A unit of jobs that may train together is nested at most max_members deep (class Nest: a
    # few Python frames per job, so a 200-job unit would pass Python's recursion limit), and at
    # most that many members are prepared (their data held) at once.
    cap = max(1, launcher.max_members)
    units = [[j] for these in alone.values() for j in these] + [
        these[i:i + cap] for these in by_key.values() for i in range(0, len(these), cap)]
    for unit in sorted(units, key=lambda u: u[0].idx):  # in job order, each group where its first job is
        stop.check()  # a stop signal: no job or group starts after it
        if len(unit) == 1:
            returns[unit[0].idx] = one(launcher, unit[0])
        else:
            returns.update(Nest(launcher, unit).run())
    return [returns[j.idx] for j in jobs]


def one(launcher, job: SweepJob) -> JobReturn:
    """A job as Hydra's basic launcher runs it."""
    return _run_job(launcher, job, launcher.task_function)


def _run_job(launcher, job: SweepJob, task) -> JobReturn:
    ret = run_job(hydra_context=launcher.hydra_context, task_function=task, config=job.config,
                  job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    return ret


# How a prepared member's run goes on once the groups have trained.
FINISH, ALONE, AGAIN = "finished from its group", "alone", "alone again"


class Nest:
    """Jobs that share a grouping key, each inside its own run_job from `prepare` to `finish`.

    The run_jobs nest, the last job's outermost, so that every job's directory, HydraConfig and
    lock are its own from its preparation to its finish, and the runs finish in job order:

        run_job(job n) ⊃ prepare n ⊃ run_job(job n-1) ⊃ ... ⊃ run_job(job 0) ⊃ prepare 0, train the groups
                       then finish n                           then finish 0 (first)

    A job whose preparation fails lets the others go on, and its `recorded` writes the error.
    """

    def __init__(self, launcher, jobs: list[SweepJob]):
        self.launcher, self.jobs = launcher, jobs
        self.members: dict[int, Member] = {}  # by job number, as prepared
        self.how: dict[int, str] = {}  # by job number: FINISH, ALONE or AGAIN
        self.returns: dict[int, JobReturn] = {}

    def run(self) -> dict[int, JobReturn]:
        self._enter(len(self.jobs) - 1)
        return self.returns

    def _enter(self, i: int) -> None:
        if i < 0:
            self._train_groups()
            return
        job = self.jobs[i]
        self.returns[job.idx] = _run_job(self.launcher, job, functools.partial(self._task, i))

    @one_writer(job_dir)  # its directory is its own from preparation to finish (ablab.run.lock)
    def _task(self, i: int, cfg) -> float:
        num = self.jobs[i].idx
        job = Job.of_this_process(cfg, clock=SharedClock(members=1))
        if job.earlier.completed:  # run again into its sweep dir: keep what this job wrote
            sweep_output.print_done_before(job.run_dir, num)
            self._enter(i - 1)
            return job.earlier.metric
        with recorded(job):
            began = time.perf_counter()
            try:
                parts = prepare(cfg, job)
            except Exception:  # the other jobs go on; this one's `recorded` says what is wrong
                self._enter(i - 1)
                raise
            member = self.members[num] = Member(num, parts, ordered(parts.callbacks))
            prepared_s = time.perf_counter() - began
            self._enter(i - 1)
            how = self.how.get(num, ALONE)
            if how != FINISH:
                stop.check()  # trained alone next: nothing new starts after a stop signal
            if how == ALONE:  # never trained: its prepared run trains by itself
                job.clock.restart(prepared_s)
                return finish(parts, fit(parts))
            if how == AGAIN:  # its group failed: it goes on alone from the checkpoint the group left
                parts = prepare(cfg, replace(job, earlier=earlier_run(job.run_dir, job.overrides)))
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
                    return finish(parts, fit(parts))
            if member.diverged is not None:
                raise Diverged(member.diverged)
            job.results.note(fused=member.group)
            return finish(parts, TrainerView(member.trainer, member, None), member.best)
        return float("nan")  # diverged: recorded as such, and a sweep goes on with its next job

    def _train_groups(self) -> None:
        """Every prepared member in a group it can train in, trained; the rest run alone."""
        prepared = [self.members[j.idx] for j in self.jobs if j.idx in self.members]  # in job order
        if not prepared:
            return
        why = unsupported_member(prepared[0], self.launcher.cpu_max_params)  # they share model and data
        if why:
            say(f"{jobs_named([j.idx for j in self.jobs])} one by one: {why}")
            return
        groups: dict[tuple, list[Member]] = defaultdict(list)
        for member in prepared:
            groups[split_key(member)].append(member)
        for group in groups.values():
            for part in _capped(group, self.launcher.max_members):
                stop.check()
                if len(part) > 1:
                    self._train(part)

    def _train(self, part: list[Member]) -> None:
        members = renumber(part)
        nums = [m.job_num for m in members]
        say(f"{jobs_named(nums)} as one fused group of {len(nums)}")
        try:
            trainer = train_group(members)
        except Exception as exc:  # never lose the jobs: their checkpoints resume one by one
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                import traceback

                traceback.print_exc()
            say(f"the group of {jobs_named(nums)} failed ({type(exc).__name__}: {exc}); running them one by one")
            self.how.update({num: AGAIN for num in nums})
            return
        sweep_output.group_trained(len(nums))  # its members' lines follow: each its share of the group's time
        group = {"members": len(nums), "jobs": sorted(nums)}
        for m in members:
            m.group, m.trainer = group, trainer
            self.how[m.job_num] = FINISH


def _capped(group: list[Member], max_members: int) -> list[list[Member]]:
    """Groups of at most max_members, and as many as fit in half the free memory."""
    fit_in = max(1, int(0.5 * free_bytes(group[0]) // max(1, bytes_per_member(group[0]))))
    size = max(1, min(max_members, fit_in))
    n = math.ceil(len(group) / size)
    size = math.ceil(len(group) / n)  # even parts: 2 x 8, not 16 + 1
    return [group[i:i + size] for i in range(0, len(group), size)]
