"""Sweeps past one job: a failed job fails alone, a sweep resumes in its own directory,
jobs run in parallel (joblib, submitit), across DDP processes, and under Optuna."""
import json
import math
import shutil

import pytest
import yaml

from ablab.errors import UserError
from ablab.sweeps.outcome import summarize
from ablab.run.resume.earlier import earlier_run
from tests.conftest import TINY, read_results, run_cli

MLP = ["model=mlp", *TINY]


def job_dirs(sweep):
    return sorted((p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def snapshot(job):
    """Every file a job wrote, with its bytes and modification time."""
    return {str(p.relative_to(job)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(job.rglob("*")) if p.is_file() and ".hydra" not in p.parts and p.suffix != ".log"}


@pytest.fixture(scope="module")
def failed_sweep(tmp_path_factory, mnist_dir):
    """Three jobs; the middle one needs a file that is missing (a one-line user error at run
    time: missing data is refused before the first job, ablab.sweeps.precheck)."""
    base = tmp_path_factory.mktemp("failing")
    there, later = base / "there", base / "later"  # `later` appears only after the first run
    there.touch()
    sweep = base / "sweep"
    args = ["-m", "data=mnist", f"data.root={mnist_dir}", *MLP, "+callbacks.needs._target_=tests.fault_callbacks.NeedsFile",
            f"+callbacks.needs.path={there},{later},{there}", f"hydra.sweep.dir={sweep}"]
    proc = run_cli(*args)
    return sweep, later, args, proc


@pytest.mark.slow
def test_a_failed_job_fails_alone_and_the_sweep_says_so(failed_sweep):
    sweep, later, _, proc = failed_sweep
    jobs = job_dirs(sweep)
    assert [j.name for j in jobs] == ["0", "1", "2"]
    statuses = [read_results(j)["status"] for j in jobs]
    assert statuses == ["completed", "failed", "completed"], proc.stderr[-3000:]  # job 2 ran after job 1 failed
    assert read_results(jobs[1])["error"] == f"{later} not found"
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"ablab: 1 of 3 jobs failed: {jobs[1]} ({later} not found)"
    assert "Traceback" not in proc.stderr  # a user error stays one line, in a sweep too


@pytest.mark.slow
def test_a_resumed_sweep_skips_completed_jobs_and_reruns_the_rest(failed_sweep):
    """Rerun with joblib (2 workers): job 0 is kept as it was, job 1 (failed, its file now
    there) runs again, job 2 (marked interrupted) goes on from its last.ckpt."""
    sweep, later, args, _ = failed_sweep
    if not (sweep / "2" / "results.json").is_file():
        pytest.skip("the failing sweep did not run")
    later.touch()
    done = sweep / "0"
    before = snapshot(done)
    interrupted = read_results(sweep / "2")
    interrupted.update(status="interrupted", error="interrupted by the user")
    (sweep / "2" / "results.json").write_text(json.dumps(interrupted))

    proc = run_cli(*args, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "n_jobs=2" in proc.stdout  # Joblib.Parallel(n_jobs=2, ...) is launching 3 jobs
    assert snapshot(done) == before  # not trained again: same results.json, checkpoints, events
    assert f"{done}: completed in an earlier run of this sweep" in proc.stdout
    assert [read_results(j)["status"] for j in job_dirs(sweep)] == ["completed"] * 3
    log = (sweep / "2" / "train.log").read_text()
    assert f"Restoring states from the checkpoint path at {sweep / '2' / 'checkpoints' / 'last.ckpt'}" in log
    assert proc.stdout.strip().splitlines()[-1] == f"ablab: 3 of 3 jobs completed in {sweep}"


@pytest.mark.slow
def test_submitit_local_runs_each_job_in_its_own_process(mnist_dir, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/launcher=submitit_local", "seed=1,2", "data=mnist", f"data.root={mnist_dir}", *MLP,
                   f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [read_results(j) for j in job_dirs(sweep)]
    assert [r["seed"] for r in results] == [1, 2] and {r["status"] for r in results} == {"completed"}
    assert list((sweep / ".submitit").rglob("*_result.pkl"))  # submitit's own record of each job


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_writes_one_results_json(mnist_dir, tmp_path):
    """A sweep's job under DDP: rank 1 runs that job (not the sweep) in the job's directory."""
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "data=mnist", f"data.root={mnist_dir}",
                   *MLP, f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [j.name for j in job_dirs(sweep)] == ["0"]
    assert list(sweep.rglob("results.json")) == [sweep / "0" / "results.json"]  # rank 0 only
    results = read_results(sweep / "0")
    assert results["status"] == "completed" and 0 <= results["test"]["acc"] <= 1
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in (sweep / "0" / "train_ddp_process_1.log").read_text()
    assert {p.name for p in (sweep / "0" / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}


def test_optuna_searches_lr_weight_decay_and_dropout(mnist_dir, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hparams_search=optuna", "hydra.sweeper.n_trials=2", "data=mnist", f"data.root={mnist_dir}", *MLP,
                   f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [read_results(j) for j in job_dirs(sweep)]
    assert len(results) == 2 and {r["status"] for r in results} == {"completed"}
    assert {r["device"] for r in results} == {"cpu"}
    assert (sweep / "optuna.journal").is_file()  # the study, kept for a resumed or shared search
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert set(best["best_params"]) == {"optimizer.lr", "optimizer.weight_decay", "dropout"}
    assert math.isclose(best["best_value"], max(r["val"]["acc"] for r in results))  # what each job returned
    for r in results:
        trial = dict(o.split("=", 1) for o in r["overrides"])
        assert 1e-4 <= float(trial["optimizer.lr"]) <= 0.1 and 0 <= float(trial["dropout"]) <= 0.5


# ---- the same rules without a subprocess ----

def _job(sweep, num, overrides, results=None):
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if results is not None:
        (job / "results.json").write_text(json.dumps({"overrides": overrides, **results}))
    return job


def test_summary_counts_failed_and_diverged_jobs(tmp_path):
    _job(tmp_path, 0, ["lr=1"], {"status": "completed"})
    _job(tmp_path, 1, ["lr=2"], {"status": "failed", "error": "ValueError: bad\nmore"})
    _job(tmp_path, 2, ["lr=3"], {"status": "diverged", "error": "training loss is nan"})
    _job(tmp_path, 3, ["lr=4"])  # died before writing results.json
    stale = _job(tmp_path, 4, ["lr=5"], {"status": "completed"})
    (stale / "results.json").write_text(json.dumps({"overrides": ["lr=9"], "status": "completed"}))
    outcome = summarize(tmp_path)
    assert outcome.jobs == 5 and len(outcome.failed) == 3 and len(outcome.diverged) == 1
    line = outcome.line()
    assert line.startswith(f"ablab: 3 of 5 jobs failed: {tmp_path / '1'} (ValueError: bad more); {tmp_path / '3'} (no results.json")
    assert "another job's" in line and line.endswith(f"1 diverged: {tmp_path / '2'} (training loss is nan)")
    for job in ("1", "3"):
        shutil.rmtree(tmp_path / job)
    (tmp_path / "4" / "results.json").write_text(json.dumps({"overrides": ["lr=5"], "status": "completed"}))
    assert summarize(tmp_path).line() == (f"ablab: 2 of 3 jobs completed; 1 diverged: {tmp_path / '2'} "
                                          "(training loss is nan)")  # a diverged run is a result
    later = summarize(tmp_path, since=(tmp_path / "2" / ".hydra" / "overrides.yaml").stat().st_mtime + 60)
    assert later.jobs == 0  # jobs set up before this invocation are not its jobs


def test_earlier_run_of_a_job(tmp_path):
    job = _job(tmp_path, 0, ["lr=1"], {"status": "completed", "val": {"acc": 0.75}})
    assert earlier_run(job, ["lr=1"]).metric == 0.75 and earlier_run(job, ["lr=1"]).completed
    with pytest.raises(UserError, match="another job's results"):
        earlier_run(job, ["lr=2"])
    (job / "checkpoints").mkdir()
    (job / "checkpoints" / "last.ckpt").write_bytes(b"")
    for status, resumes in [("interrupted", True), ("failed", True), ("diverged", False)]:
        (job / "results.json").write_text(json.dumps({"overrides": ["lr=1"], "status": status}))
        earlier = earlier_run(job, ["lr=1"])
        assert not earlier.completed and (earlier.checkpoint == str(job / "checkpoints" / "last.ckpt")) == resumes
