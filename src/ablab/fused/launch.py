"""Run a batch of sweep jobs: fusable ones as fused groups, the rest one by one.

For each batch the sweeper hands over (all of a basic sweep, an OFAT step, a greedy step):
1. compose every job's config, as Hydra's basic launcher does;
2. group the jobs by `grouping.key`, leaving out those `grouping.reason_alone` names;
3. build each group's members as their separate runs would (`build_member`); what only a built
   member can tell (a layer without a fused form, its size on a CPU) rules out the whole group,
   and the members are split further by their split sizes, batches per epoch, penalty kind and
   the epoch they resume from; cap each group at `max_members` and by memory;
4. train each group as one fused model (`train_group`), then validate and test every member's
   best epoch in one pass (fused/finish.py);
5. finish every job through Hydra's own `run_job` and the ordinary run (run/train.py), which
   resumes each member from the checkpoint the group wrote at its last epoch, takes the
   evaluations of its best epoch and writes its results.json, so a member's directory is a
   separate run's.
Jobs run one by one when they cannot be fused, and the launcher says why in one line.
"""
from __future__ import annotations

import math
import os
import sys
import warnings
from collections import defaultdict

from hydra.core.utils import JobReturn, configure_log, run_job

from ablab.fused import grouping
from ablab.fused.jobs import Job, compose
from ablab.run import membership, stop, sweep_output


def say(line: str) -> None:
    print(f"ablab: fused launcher: {line}", file=sys.stderr, flush=True)


def jobs_named(jobs: list[Job]) -> str:
    nums = [j.idx for j in jobs]
    return f"job {nums[0]}" if len(nums) == 1 else f"jobs {', '.join(map(str, nums))}"


def launch(launcher, job_overrides, initial_job_idx: int) -> list[JobReturn]:
    jobs = compose(launcher, job_overrides, initial_job_idx)
    by_key: dict[str, list[Job]] = defaultdict(list)
    alone: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        why = grouping.reason_alone(job.cfg)
        if why:
            alone[why].append(job)
        else:
            by_key[grouping.key(job.cfg)].append(job)
    for why, these in alone.items():
        say(f"{jobs_named(these)} one by one: {why}")
    returns: dict[int, JobReturn] = {}
    units = [[j] for these in alone.values() for j in these] + list(by_key.values())
    for unit in sorted(units, key=lambda u: u[0].idx):  # in job order, each group where its first job is
        stop.check()  # a stop signal: no job or group starts after it
        if len(unit) == 1:
            returns[unit[0].idx] = one(launcher, unit[0])
        else:
            returns.update(fused(launcher, unit))
    return [returns[j.idx] for j in jobs]


def one(launcher, job: Job) -> JobReturn:
    """A job as Hydra's basic launcher runs it."""
    ret = run_job(hydra_context=launcher.hydra_context, task_function=launcher.task_function, config=job.config,
                  job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    return ret


def fused(launcher, jobs: list[Job]) -> dict[int, JobReturn]:
    """Build the members of jobs that share a key, split them where a built member tells them
    apart, train each group, and finish every job."""
    from ablab.fused.build import build_member, split_key, unsupported_member

    returns: dict[int, JobReturn] = {}
    built, singles = [], []
    for i, job in enumerate(jobs):
        try:
            member = build_member(job, len(jobs))
        except Exception:  # its own run says what is wrong with it, and records it, as one job
            member = None
        if member is None:  # or completed in an earlier run of this sweep: run_job returns its metric
            singles.append(job)
            continue
        if not built:  # the jobs share model and data: what rules out the first rules out all
            why = unsupported_member(member, launcher.cpu_max_params)
            if why:
                say(f"{jobs_named(jobs)} one by one: {why}")
                singles += jobs[i:]
                break
        built.append((job, member))
    groups: dict[tuple, list] = defaultdict(list)
    for job, member in built:
        groups[split_key(member)].append((job, member))
    for group in groups.values():
        for part in _capped(group, launcher.max_members):
            stop.check()
            if len(part) == 1:
                returns[part[0][0].idx] = one(launcher, part[0][0])
            else:
                returns.update(train_and_finish(launcher, part))
    for job in singles:
        stop.check()
        returns[job.idx] = one(launcher, job)
    return returns


def _capped(group: list, max_members: int) -> list[list]:
    """Groups of at most max_members, and as many as fit in half the free memory."""
    from ablab.fused.build import bytes_per_member, free_bytes

    member = group[0][1]
    fit = max(1, int(0.5 * free_bytes(member) // max(1, bytes_per_member(member))))
    size = max(1, min(max_members, fit))
    n = math.ceil(len(group) / size)
    size = math.ceil(len(group) / n)  # even parts: 2 x 8, not 16 + 1
    return [group[i:i + size] for i in range(0, len(group), size)]


def train_and_finish(launcher, part: list) -> dict[int, JobReturn]:
    from ablab.fused.build import renumber, train_group

    members = renumber([m for _, m in part])
    jobs = [next(j for j, m in part if m is member) for member in members]
    say(f"{jobs_named(jobs)} as one fused group of {len(jobs)}")
    try:
        train_group(members)
    except Exception as exc:  # never lose the jobs: their checkpoints resume one by one
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            import traceback

            traceback.print_exc()
        say(f"the group of {jobs_named(jobs)} failed ({type(exc).__name__}: {exc}); running them one by one")
        return {job.idx: one(launcher, job) for job in jobs}
    sweep_output.group_trained(len(jobs))  # its members' lines follow: each its share of the group's time
    group = {"members": len(jobs), "jobs": sorted(j.idx for j in jobs)}
    returns = {}
    for job, member in sorted(zip(jobs, members), key=lambda pair: pair[0].idx):  # finished in job order
        if member.diverged is not None:
            returns[job.idx] = _finish_diverged(launcher, job, member)
        else:
            with membership.finishing(group, member.logger, member.datamodule, member.tested), \
                    warnings.catch_warnings():
                # Its checkpoints are there because its group wrote them.
                warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
                returns[job.idx] = one(launcher, job)
    return returns


def _finish_diverged(launcher, job: Job, member) -> JobReturn:
    """Its results.json as its separate run's: diverged, with the epochs it finished."""
    def record(cfg):
        member.results.end("diverged", member.diverged)
        member.results.note(wall_s=round(member.clock.elapsed_s, 3))
        member.results.write()
        sweep_output.print_job_line(member.results.record, job.idx)
        return float("nan")

    return run_job(hydra_context=launcher.hydra_context, task_function=record, config=job.config,
                   job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")


