"""The Optuna search (ablab.sweeps.search, the `search` sweeper): its space from Hydra's sweep
syntax, a study that survives kill -9, two workers on one study, a pruned trial; and the
devices launcher's assignment of jobs to GPUs (ablab.sweeps.devices)."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from ablab.run.devices import trained_on
from ablab.sweeps.devices import run_on_slots, slots
from ablab.sweeps.search import counted
from ablab.sweeps.trial_owners import ALIVE, WORKER, is_stale
from ablab.sweeps.search_space import search_space
from tests.conftest import REPO, TINY, read_results, run_cli
from tests.search_worker import fake_launch, open_search


def space_of(*overrides):
    return search_space(OverridesParser.create().parse_overrides(list(overrides)))


def test_the_search_space_is_hydras_sweep_syntax():
    space = space_of("optimizer.lr=tag(log, interval(0.0001, 0.1))", "dropout=interval(0, 0.5)", "model=mlp",
                     "trainer.max_epochs=range(2, 11, 2)", "optimizer=choice(sgd,adam)",
                     "model.hidden=choice([128,64],[256])", "dropout=choice(0,0.2,0.5)")
    assert space.distributions == {
        "optimizer.lr": FloatDistribution(0.0001, 0.1, log=True),
        "trainer.max_epochs": IntDistribution(2, 10, step=2),  # range() stops before 11, as in Hydra
        "optimizer": CategoricalDistribution(["sgd", "adam"]),
        "model.hidden": CategoricalDistribution(["[128,64]", "[256]"]),
        "dropout": CategoricalDistribution([0, 0.2, 0.5]),  # the later dropout replaces the first
    }
    assert space.overrides({"optimizer": "sgd", "model.hidden": "[128,64]", "dropout": 0.2}) == [
        "model=mlp", "optimizer=sgd", "model.hidden=[128,64]", "dropout=0.2"]


def runs_of(sweep):
    return Counter(tuple(line.split()[:2]) for line in (sweep / "jobs.log").read_text().splitlines())


def test_two_workers_on_one_storage_share_one_study_and_run_no_trial_twice(tmp_path):
    """Two processes, one journal file: 6 trials in all, each job run by one of them, once."""
    cmd = [sys.executable, "-m", "tests.search_worker", str(tmp_path), "6", "0.3"]
    workers = [subprocess.Popen(cmd + [str(seed)], cwd=REPO, stdout=subprocess.PIPE, text=True) for seed in (0, 1)]
    ran = [int(w.communicate(timeout=120)[0].split()[-1]) for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    study = open_search(tmp_path, 6).study
    trials = counted(study.get_trials())
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6 and sum(ran) == 6 and min(ran) >= 1, ran
    runs = runs_of(tmp_path)
    assert {("start", str(j)) for j in range(6)} | {("end", str(j)) for j in range(6)} == set(runs)
    assert set(runs.values()) == {1}  # no job started twice
    assert len({tuple(t.params.items()) for t in trials}) == 6  # the two samplers drew different points


def test_a_search_killed_with_sigkill_resumes_without_losing_or_repeating_a_trial(tmp_path):
    cmd = [sys.executable, "-m", "tests.search_worker", str(tmp_path), "4", "0.5"]
    first = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL)
    log = tmp_path / "jobs.log"
    deadline = time.time() + 120
    while "start 2" not in (log.read_text() if log.exists() else "") and time.time() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # in the middle of job 2
    first.wait()
    killed = open_search(tmp_path, 4).study.get_trials()
    assert [t.state for t in killed] == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING]
    done_before = {j: (tmp_path / j / "results.json").stat().st_mtime_ns for j in ("0", "1")}

    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)  # the same command
    assert again.returncode == 0, again.stderr[-2000:]
    trials = open_search(tmp_path, 4).study.get_trials()
    assert trials[2].state == TrialState.FAIL  # the killed one, run again as trial 3 in the same job
    assert trials[3].user_attrs["retry_of"] == 2 and trials[3].user_attrs["job"] == 2
    assert trials[3].params == trials[2].params
    assert [t.state for t in counted(trials)] == [TrialState.COMPLETE] * 4
    assert [t.user_attrs["job"] for t in counted(trials)] == [0, 1, 2, 4]  # a job is its trial's number
    runs = runs_of(tmp_path)
    assert runs[("end", "0")] == runs[("end", "1")] == runs[("end", "2")] == runs[("end", "4")] == 1
    assert runs[("start", "0")] == runs[("start", "1")] == 1 and runs[("start", "2")] == 2
    assert {j: (tmp_path / j / "results.json").stat().st_mtime_ns for j in ("0", "1")} == done_before


def test_an_interrupted_batch_is_given_back_to_the_study_for_the_same_jobs(tmp_path):
    search = open_search(tmp_path, 3, n_jobs=2)
    with pytest.raises(KeyboardInterrupt):
        search.run(lambda jobs, first: (_ for _ in ()).throw(KeyboardInterrupt))
    search = open_search(tmp_path, 3, n_jobs=2)
    search.run(fake_launch(tmp_path, 0))
    trials = counted(search.study.get_trials())
    assert sorted(t.user_attrs["job"] for t in trials) == [0, 1, 4] and search.ran == 3  # trials 2, 3 rerun jobs 0, 1
    assert {t.state for t in trials} == {TrialState.COMPLETE}


def test_overlapping_trials_keep_n_jobs_running_and_replace_each_as_it_ends(tmp_path):
    """The devices launcher's way: each trial launched alone, n_jobs of them always running."""
    search, lock, running, most = open_search(tmp_path, 7, n_jobs=3), threading.Lock(), [0], [0]
    inner = fake_launch(tmp_path, 0)

    def launch(jobs, first):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05 * (1 + first % 3))
        try:
            return inner(jobs, first)
        finally:
            with lock:
                running[0] -= 1

    search.run(launch, overlapping=True)
    trials = counted(search.study.get_trials())
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 7 and most[0] == 3
    assert set(runs_of(tmp_path).values()) == {1}


def test_a_job_running_in_another_worker_is_not_counted_as_failed(tmp_path):
    """Workers of one search share a sweep directory: one's summary skips the other's running job."""
    from ablab.sweeps.outcome import summarize

    for job, status in (("0", "completed"), ("1", "running")):
        (tmp_path / job / ".hydra").mkdir(parents=True)
        (tmp_path / job / "results.json").write_text(f'{{"status": "{status}", "overrides": []}}')
    (tmp_path / "1" / ".ablab.lock").write_text(f"1 {socket.gethostname()}\n")  # held by a live process
    outcome = summarize(tmp_path)
    assert (outcome.jobs, outcome.failed) == (1, [])
    (tmp_path / "1" / ".ablab.lock").unlink()  # no holder: a job that died
    assert len(summarize(tmp_path).failed) == 1


def test_a_trial_is_stale_when_its_process_is_gone_or_its_heartbeat_stopped():
    def running(worker, alive):
        return create_trial(state=TrialState.RUNNING, system_attrs={WORKER: worker, ALIVE: alive})

    here = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert is_stale(running(f"{here} {dead.pid}", time.time()), 60, time.time())
    assert not is_stale(running(f"{here} {os.getpid()}", 0.0), 60, time.time())  # this process: alive
    assert is_stale(running("elsewhere 1", time.time() - 181), 60, time.time())  # 3 heartbeats missed
    assert not is_stale(running("elsewhere 1", time.time() - 100), 60, time.time())
    assert not is_stale(create_trial(state=TrialState.RUNNING), 60, time.time())  # not ablab's: left alone


def test_eight_jobs_on_four_devices_use_each_device_twice_never_two_at_once():
    """Jobs of equal length: each waits until four jobs run (a barrier), so the first four must
    run at once, one per device, and the next four take the devices they free."""
    busy, lock, seen = set(), threading.Lock(), []
    four_at_once = threading.Barrier(4, timeout=10)  # broken (the test fails) unless 4 jobs run together

    def run(i, device):
        with lock:
            assert device not in busy, f"job {i} on busy device {device}"
            busy.add(device)
            seen.append((i, device))
        four_at_once.wait()
        with lock:
            busy.remove(device)
        return i

    assert run_on_slots(8, slots(["0", "1", "2", "3"]), run) == list(range(8))
    assert Counter(d for _, d in seen) == {"0": 2, "1": 2, "2": 2, "3": 2}
    assert sorted(d for i, d in seen if i < 4) == ["0", "1", "2", "3"]


def test_jobs_of_unequal_length_queue_for_the_next_free_slot_in_order():
    """Two jobs per device: slots (index, device) as the launcher makes them."""
    assert slots(["0", "1"], 2) == ["0", "1", "0", "1"]  # spread over the devices first
    busy, on_device, lock, started = set(), Counter(), threading.Lock(), []

    def run(i, slot):
        with lock:
            assert slot not in busy and on_device[slot[1]] < 2, f"job {i}: slot {slot} busy"
            busy.add(slot)
            on_device[slot[1]] += 1
            started.append(i)
        time.sleep(0.01 * (1 + i % 3))
        with lock:
            busy.remove(slot)
            on_device[slot[1]] -= 1
        return slot[1]

    devices = run_on_slots(12, list(enumerate(slots(["0", "1"], 2))), run)
    assert started == list(range(12)) and set(devices) == {"0", "1"}


def test_results_json_names_the_machines_gpu_not_torchs_renumbering(monkeypatch):
    def trainer(kind, index=None, ids=None):
        return SimpleNamespace(strategy=SimpleNamespace(root_device=SimpleNamespace(type=kind, index=index)),
                               device_ids=ids)

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert trained_on(trainer("cuda", 0, [0])) == "cuda:2"
    assert trained_on(trainer("cuda", 0, [0, 1])) == "cuda:2,3"  # DDP over both
    assert trained_on(trainer("cpu")) == "cpu"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert trained_on(trainer("cuda", 1, [1])) == "cuda:1"


@pytest.mark.slow
def test_a_hopeless_trial_is_pruned_on_the_devices_launcher(tmp_path):
    """Two trials at once on two (simulated) devices, each in its own worker process; a pruner
    that stops every trial after its first epoch; the report shows them as pruned."""
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hparams_search=optuna", "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2",
                   "hydra/launcher=devices", "hydra.launcher.devices=[0,1]", "model=mlp", *TINY,
                   "trainer.max_epochs=3", "~hydra.sweeper.pruner",
                   "+hydra.sweeper.pruner={_target_:optuna.pruners.ThresholdPruner,lower:1.01}",
                   f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == f"ablab: 0 of 2 jobs completed; 2 pruned in {sweep}"
    for job in ("0", "1"):
        results = read_results(sweep / job)
        assert results["status"] == "pruned" and results["error"].startswith("pruned after epoch 1: val/acc")
        assert len(results["history"]) == 1 and "test" not in results and results["device"] == "cpu"
    study = open_search(sweep, 2).study
    assert [t.state for t in study.get_trials()] == [TrialState.PRUNED] * 2
    assert all(t.intermediate_values for t in study.get_trials())  # reported from the worker processes
    from ablab.report.__main__ import main as report

    assert report([str(sweep)]) == 0
    assert "2 jobs: 2 pruned" in (sweep / "report.md").read_text()

