"""Fault injection on tiny runs: a job killed with SIGKILL and resumed, damaged checkpoints,
a full disk, two sweeps into one directory, a corrupted or outdated data cache, and a
dataset folder ablab may not write. In each case nothing finished is lost."""
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

from ablab.data import cache, sources
from ablab.data.datamodule import ImageDataModule
from ablab.errors import UserError
from ablab.paths import writable
from ablab.run.resume.start import choose
from ablab.run.results import write_json
from ablab.run.lock import RunDirInUse, RunLock
from tests import fakes
from tests.conftest import REPO, TINY, read_results, run_cli

# Shuffled batches, augmentation and dropout: every source of randomness a resume must redraw.
RANDOM = ["model=mlp", "dropout=0.2", "augment=digits", "data.batch_size=32", *TINY, "trainer.max_epochs=3",
          "trainer.limit_train_batches=4", "trainer.log_every_n_steps=1"]
KILL = ["+callbacks.kill._target_=tests.fault_callbacks.KillAt", "+callbacks.kill.epoch=1",
        "+callbacks.kill.batch=2", "+callbacks.kill.slow_s=3"]


def run_study(*args: str) -> subprocess.CompletedProcess:
    """ablab-study as a user runs it (python -m ablab.study, the console script's code)."""
    return subprocess.run(
        [sys.executable, "-m", "ablab.study", *args], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"})


def ablab_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ablab:")]


def same(a, b) -> bool:
    """Equal, with NaN equal to NaN (the hparams' placeholders)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isnan(a) and math.isnan(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def tensorboard(run_dir: Path) -> tuple[dict, int]:
    """Scalars as TensorBoard shows them ({tag: [(step, value)]}, replays purged), and how many
    hparams sessions the event files hold."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    (log_dir,) = {e.parent for e in run_dir.rglob("events.out.tfevents.*")}
    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    scalars = {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
    sessions = sum(1 for f in sorted(log_dir.glob("events.out.tfevents.*"))
                   for e in EventFileLoader(str(f)).Load()
                   for v in e.summary.value if v.tag == "_hparams_/session_start_info")
    return scalars, sessions


def temp_files(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.rglob("*") if ".tmp" in p.name or p.name.startswith(".ablab-probe")]


# ---- 1. exact resume ----

@pytest.mark.slow
def test_a_killed_run_resumed_ends_as_the_uninterrupted_run(mnist_dir, tmp_path):
    common = ["data=mnist", f"data.root={mnist_dir}", "seed=2", *RANDOM]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    uninterrupted = subprocess.Popen([sys.executable, "train.py", *common, f"hydra.run.dir={whole}"], cwd=REPO,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # alongside
    killed = run_cli(*common, *KILL, f"hydra.run.dir={parts}")
    assert uninterrupted.wait(timeout=300) == 0, uninterrupted.stderr.read()[-2000:]
    assert killed.returncode == -9 and read_results(parts)["status"] == "running"  # SIGKILL in epoch 1
    last = parts / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True, mmap=True)["epoch"] == 0  # epoch 1's work is replayed

    resumed = run_cli(*common, f"ckpt_path={last}", f"hydra.run.dir={parts}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = read_results(whole), read_results(parts)
    assert b["status"] == "completed" and b["epochs"] == a["epochs"] == 3
    assert same(a["val"], b["val"]) and same(a["test"], b["test"])  # every metric, every class, exactly
    assert same(a["history"], b["history"]) and len(b["history"]) == 3  # each epoch once, as the whole run had it
    assert b["resume"]["checkpoint"] == str(last) and b["resume"]["note"] is None
    assert b["resume"]["earlier_wall_s"] >= 3 and b["wall_s"] > b["resume"]["earlier_wall_s"]  # both parts
    scalars_a, sessions_a = tensorboard(whole)
    scalars_b, sessions_b = tensorboard(parts)
    assert same(scalars_a, scalars_b)  # no point twice, none missing, the same values
    assert sessions_a == sessions_b == 1  # hparams logged by the first part only


@pytest.mark.slow
def test_wall_s_is_the_runs_time_when_the_best_epoch_is_not_the_last(mnist_dir, tmp_path):
    """The final validate and test load best.ckpt, whose RunClock state is the time at the best
    epoch: restoring it added that time again (a 220 s run recorded 385 s)."""
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "data=mnist", f"data.root={mnist_dir}", "model=mlp", *TINY, "trainer.max_epochs=3",
                   "callbacks.checkpoint.mode=min",  # the worst epoch is "best": the first, not the last
                   "+callbacks.slow._target_=tests.fault_callbacks.SlowEpochs", "+callbacks.slow.seconds=2",
                   "seed=0,1", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Job 1 starts with torch imported (a run's wall_s leaves out a process's one-off imports):
    # Hydra writes its config just before the run starts, and results.json is the run's last write.
    job = sweep / "1"
    results = read_results(job)
    assert results["best_epoch"] < results["epochs"] - 1
    measured = (job / "results.json").stat().st_mtime - (job / ".hydra" / "config.yaml").stat().st_mtime
    assert results["wall_s"] >= 6 and abs(results["wall_s"] - measured) < 1.0, (results["wall_s"], measured)
    assert len(results["history"]) == 3  # the best checkpoint's shorter history did not replace the run's


# ---- 2. damaged checkpoints ----

@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory, mnist_dir):
    sweep = tmp_path_factory.mktemp("damaged") / "sweep"
    args = ["-m", "data=mnist", f"data.root={mnist_dir}", "model=mlp", *TINY, "trainer.max_epochs=2", f"hydra.sweep.dir={sweep}"]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return sweep / "0", args


@pytest.mark.slow
def test_a_truncated_last_ckpt_falls_back_and_the_job_completes(finished_sweep, tmp_path):
    job, args = finished_sweep
    last, best = job / "checkpoints" / "last.ckpt", job / "checkpoints" / "best.ckpt"
    shutil.copy(best, tmp_path / "best.ckpt")  # kept for test_checkpoints_that_do_not_load
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    results = read_results(job)
    results.update(status="interrupted", error="interrupted by the user")
    (job / "results.json").write_text(json.dumps(results))

    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = read_results(job)
    assert after["status"] == "completed" and after["epochs"] == 2
    note = after["resume"]["note"]
    assert note.startswith(f"{last}: not a loadable checkpoint") and note.endswith(f"resuming from {best}")
    (said,) = [line for line in ablab_lines(proc.stderr) if "last.ckpt" in line]
    assert said == f"ablab: {job}: {note}"


@pytest.mark.slow
def test_checkpoints_that_do_not_load_are_named_and_passed_over(finished_sweep, tmp_path):
    job, _ = finished_sweep
    good = tmp_path / "good.ckpt"
    shutil.copy(job / "checkpoints" / "best.ckpt", good)
    overrides = torch.load(good, weights_only=True, mmap=True)["ablab"]["overrides"]
    bad = {"empty": b"", "text": b"not a checkpoint\n", "truncated": good.read_bytes()[:5000]}
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
    torch.save({"state_dict": {}}, tmp_path / "weights")  # a torch file, not a training checkpoint
    paths = [str(tmp_path / n) for n in (*bad, "weights")]
    start = choose(None, [*paths, str(good)], overrides)
    assert start.checkpoint == str(good) and start.epoch == 1
    assert [p.split(":")[0] for p in start.passed_over] == paths
    assert "not a Lightning training checkpoint" in start.passed_over[-1]
    assert choose(None, [str(good)], ["seed=9"]).checkpoint is None  # another job's: not resumed
    other_model = torch.nn.Linear(3, 2)
    fresh = choose(None, [str(good)], overrides).fitting(other_model)
    assert fresh.checkpoint is None and "another model's checkpoint" in fresh.note
    assert fresh.note.endswith("starting afresh")
    with pytest.raises(UserError, match="another model's checkpoint"):
        choose(str(good), []).fitting(other_model)
    for path in paths:
        with pytest.raises(UserError, match=f"ckpt_path={path}: "):
            choose(path, [])


def test_a_bad_ckpt_path_is_one_line_before_any_data_loads(tmp_path):
    bad = tmp_path / "last.ckpt"
    bad.write_bytes(b"\x00" * 100)
    proc = run_cli(f"ckpt_path={bad}", "data=mnist", f"data.root={tmp_path / 'nowhere'}", "data.download=false",
                   *TINY, f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"ablab: error: ckpt_path={bad}: not a loadable checkpoint "
                                                + proc.stderr.split("not a loadable checkpoint ", 1)[1].strip()]


# ---- 3. a full disk ----

@pytest.fixture
def tmpfs(tmp_path):
    """tmpfs(name, size) mounts a small file system at tmp_path/name; unmounted afterwards."""
    mounted = []

    def mount(name: str, size: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.mark.slow
def test_a_full_disk_ends_the_run_with_one_line_and_a_valid_results_json(tmpfs, tmp_path):
    data = fakes.mnist_root(tmpfs("data", "1m"))  # the raw files fit, their decoded cache does not
    run_dir = tmpfs("run", "4m") / "run"  # config and events fit, a 6.9 MB MLP checkpoint does not
    proc = run_cli("data=mnist", f"data.root={data}", "model=mlp", *TINY, f"hydra.run.dir={run_dir}")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    cached, error = ablab_lines(proc.stderr)
    assert cached.startswith(f"ablab: could not write the data cache {data}/.ablab-cache/") and \
        cached.endswith("(No space left on device); training uncached")  # said once, and it trained
    assert error.startswith(f"ablab: error: no space left on device writing {run_dir}/checkpoints/")
    results = read_results(run_dir)
    assert results["status"] == "failed" and results["error"] == error.removeprefix("ablab: error: ")
    assert temp_files(run_dir, data) == []
    for ckpt in (run_dir / "checkpoints").glob("*.ckpt"):  # whatever is there under a trusted name loads
        assert choose(str(ckpt), []).checkpoint == str(ckpt)


def test_write_json_leaves_no_temporary_file_on_a_full_disk(tmpfs):
    disk = tmpfs("tiny", "8k")
    (disk / "filler").write_bytes(b"x" * 8192)
    with pytest.raises(OSError, match="No space left"):
        write_json(disk / "results.json", {"status": "failed", "error": "x" * 10_000})
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]


# ---- 5. one writer per run directory ----

@pytest.mark.slow
def test_a_second_sweep_into_a_directory_in_use_is_refused(mnist_dir, tmp_path):
    """One sweep per sweep directory: the second is refused before it changes any file there
    (multirun.yaml included), in one line naming the directory and the other process."""
    sweep, go = tmp_path / "sweep", tmp_path / "go"
    common = ["data=mnist", f"data.root={mnist_dir}", "model=mlp", *TINY, f"hydra.sweep.dir={sweep}"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    held = ["seed=1,3", "+callbacks.wait._target_=tests.fault_callbacks.WaitForFile", f"+callbacks.wait.path={go}"]
    first = subprocess.Popen([sys.executable, "train.py", "-m", *common, *held], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        waiting = go.with_name("go.waiting")
        deadline = time.monotonic() + 120
        while not waiting.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert waiting.exists(), first.communicate()[1][-3000:]  # the first sweep's job 0 is training
        before = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file()}
        second = run_cli("-m", *common, "seed=2,4")  # another sweep, same directory
        after = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file()}
    finally:
        go.touch()
        out, err = first.communicate(timeout=300)
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert ablab_lines(second.stderr) == [f"ablab: error: sweep directory {sweep} is in use by process {first.pid} on "
                                          f"{socket.gethostname()} (lock {sweep / '.ablab.lock'}); wait for it to end, "
                                          "or use another directory"]
    assert after == before  # not a byte changed: multirun.yaml, the jobs' configs and results
    assert first.returncode == 0, err[-3000:]  # the first sweep, both jobs, undisturbed
    assert [read_results(sweep / j)["seed"] for j in ("0", "1")] == [1, 3]
    assert out.strip().splitlines()[-1] == f"ablab: 2 of 2 jobs completed in {sweep}"
    assert not (sweep / ".ablab.lock").exists() and not (sweep / "0" / ".ablab.lock").exists()
    again = run_cli("-m", *common, *held)  # the same sweep again, after it ended: finished jobs kept
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.strip().splitlines()[-1] == f"ablab: 2 of 2 jobs completed in {sweep}"


# ---- 6. every mistake before the first job ----

@pytest.mark.parametrize("sweep, message", [
    (["optimizer.lr=0.1,-1"], "optimizer.lr=-1 is not allowed: must be a number > 0"),
    (["hydra/sweeper=ofat", "dropout=0.1,1.5"], "dropout=1.5 is not allowed: must be a number in [0, 1)"),
    (["optimizer=sgd,adam", "optimizer.momentum=0.5,2"], "optimizer.momentum=2 is not allowed"),
    (["hparams_search=optuna", "hydra.sweeper.n_trials=2", "dropout=choice(0,0.2,1.5)"],
     "dropout=1.5 is not allowed: must be a number in [0, 1)"),
    (["optimizer.lrr=0.1,0.2"], "unknown config key or group 'optimizer.lrr'; did you mean optimizer.lr?"),
    # The plugins' own keys, as a factor's values.
    (["hydra/sweeper=ofat", "dropout=0,0.2", "seed=auto", "hydra.sweeper.max_seeds=2"],
     "hydra.sweeper.max_seeds=2 is not allowed: must be an integer >= hydra.sweeper.min_seeds (3)"),
    (["hydra/launcher=fused", "seed=0,1", "hydra.launcher.cpu_max_params=-5"],
     "hydra.launcher.cpu_max_params=-5 is not allowed: must be an integer >= 0"),
    (["hydra/launcher=devices", "seed=0,1", "hydra.launcher.jobs_per_device=0"],
     "hydra.launcher.jobs_per_device=0 is not allowed: must be an integer >= 1"),
    (["hparams_search=optuna", "hydra.sweeper.direction=max"], "hydra.sweeper.direction='max' is not allowed"),
    (["hparams_search=optuna", "dropout=interval(0.5,0.1)"], "hydra/sweeper=search cannot search 'dropout=interval(0.5,0.1)'"),
    # A key that nothing reads, added on the command line: swept, or for every job.
    (["seed=0,1", "+foo=1,2"], "unknown config key 'foo' (from +foo=1): ablab does not read it"),
    (["seed=0,1", "optimizer=sgd", "++optimizer.momentun=0.9"],
     "unknown config key 'optimizer.momentun' (from ++optimizer.momentun=0.9): ablab does not read it; "
     "did you mean optimizer.momentum?"),
])
def test_a_bad_value_in_a_sweep_list_is_refused_before_the_first_job(sweep, message, tmp_path):
    out = tmp_path / "sweep"
    proc = run_cli("-m", "model=mlp", *TINY, *sweep, f"hydra.sweep.dir={out}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ablab: error: ") and message in lines[0], lines
    assert not out.exists()  # no job directory, no multirun.yaml


@pytest.mark.slow
def test_missing_data_fails_a_sweep_and_a_study_once_before_any_job(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "data=mnist", f"data.root={empty}", "data.download=false", "model=mlp", *TINY,
                   "optimizer=sgd,adam,rmsprop", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ablab: error: mnist: ") and str(empty) in lines[0], lines
    assert not sweep.exists()
    study = tmp_path / "study"
    proc = run_study("mnist_mlp_grid", "data=mnist", f"data.root={empty}", "data.download=false", "--out", str(study))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ablab: error: mnist: "), lines
    assert not study.exists()


@pytest.mark.slow
def test_unwritable_outputs_are_one_line_and_exit_code_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cases = [
        (["-m", "optimizer=sgd,adam", f"hydra.sweep.dir={blocker}/sweep"], "train.py", "sweep directory"),
        ([f"hydra.run.dir={blocker}/run"], "train.py", "run directory"),
        (["ckpt_path=x.ckpt", "input=y.png", f"output={blocker}/predictions.csv"], "predict.py", "folder of output"),
    ]
    for args, script, what in cases:
        proc = run_cli(*args, "model=mlp", *TINY, script=script) if script == "train.py" else run_cli(*args, script=script)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, (args, proc.stderr[-2000:])
        assert lines[0].startswith(f"ablab: error: cannot create the {what} {blocker}"), lines
    study = run_study("mnist_mlp_grid", "--out", str(blocker / "study"))
    lines = study.stderr.strip().splitlines()
    assert study.returncode == 2 and len(lines) == 1, study.stderr[-2000:]
    assert lines[0].startswith(f"ablab: error: cannot create the study directory {blocker}/study"), lines


@pytest.mark.slow
def test_a_failed_job_is_said_once_without_hydras_line(mnist_dir, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "data=mnist", f"data.root={mnist_dir}", "model=mlp", *TINY,
                   "+callbacks.boom._target_=tests.fault_callbacks.FailAtStart", "+callbacks.boom.fail=true,false",
                   f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 1
    assert "Error executing job with overrides" not in proc.stderr
    lines = ablab_lines(proc.stderr)
    assert lines[0].startswith(f"ablab: job {sweep / '0'} failed: RuntimeError: injected failure")
    assert lines[-1].startswith(f"ablab: 1 of 2 jobs failed: {sweep / '0'}")
    assert read_results(sweep / "1")["status"] == "completed"  # the next job ran and finished


def test_a_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock_file = tmp_path / ".ablab.lock"
    lock_file.write_text(f"{dead.stdout.strip()} {socket.gethostname()}\n")
    lock = RunLock(tmp_path).acquire()
    assert lock_file.read_text().split() == [str(os.getpid()), socket.gethostname()]
    with pytest.raises(RunDirInUse, match=f"{tmp_path} is in use by process {os.getpid()} on "):
        RunLock(tmp_path).acquire()
    lock.release()
    assert not lock_file.exists()
    lock_file.write_text("")  # a holder killed as it wrote its lock: held while fresh, stale later
    with pytest.raises(RunDirInUse):
        RunLock(tmp_path).acquire()
    os.utime(lock_file, (time.time() - 60, time.time() - 60))
    RunLock(tmp_path).acquire().release()


# ---- 4. cache integrity ----

def _datamodule(root: Path) -> ImageDataModule:
    dm = ImageDataModule("mnist", lambda root: sources.mnist(root, download=False), str(root), cache=True)
    dm.setup()
    return dm


def test_a_cache_with_flipped_bytes_is_rebuilt(tmp_path):
    root = fakes.mnist_root(tmp_path / "data")
    _datamodule(root)
    (path,) = (root / cache.CACHE_DIR_NAME).glob("*.pt")
    with zipfile.ZipFile(path) as z:  # the largest entry holds the training images' bytes
        entry = max(z.infolist(), key=lambda i: i.file_size)
    with open(path, "r+b") as f:
        f.seek(entry.header_offset + 26)
        name_len, extra_len = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
        f.seek(entry.header_offset + 30 + name_len + extra_len + entry.file_size // 2)
        flipped = bytes(255 - b for b in f.read(64))
        f.seek(-64, os.SEEK_CUR)
        f.write(flipped)  # same size: only the bytes differ
    dm = _datamodule(root)
    uncached = ImageDataModule("mnist", lambda root: sources.mnist(root, download=False), str(root), cache=False)
    uncached.setup()
    for split in ("train", "val", "test"):  # what the run trains and measures on is the clean decode
        assert torch.equal(dm.splits[split].x, uncached.splits[split].x)
    assert cache._read(path) is not None  # rebuilt, and good again


def test_a_cache_written_by_older_decoding_code_is_rebuilt(tmp_path, monkeypatch):
    root = fakes.mnist_root(tmp_path)
    calls = []

    def load():
        calls.append(1)
        return sources.mnist(str(root), download=False)

    cache.load_cached("mnist", str(root), {}, load)
    cache.load_cached("mnist", str(root), {}, load)
    assert len(calls) == 1
    monkeypatch.setattr(cache, "DECODE_VERSION", cache.DECODE_VERSION + 1)
    cache.load_cached("mnist", str(root), {}, load)
    assert len(calls) == 2


# ---- out of the box 8: no cache in a folder ablab may not write ----

def test_a_read_only_dataset_folder_gets_no_cache(tmp_path, monkeypatch):
    root = fakes.mnist_root(tmp_path / "data")
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("ABLAB_CACHE", str(elsewhere))
    load = lambda: sources.mnist(str(root), download=False)  # noqa: E731
    root.chmod(0o555)  # read-only by its mode; root could write it anyway
    try:
        cache.load_cached("mnist", str(root), {}, load)
    finally:
        root.chmod(0o755)
    assert not (root / cache.CACHE_DIR_NAME).exists() and len(list(elsewhere.glob("mnist-*.pt"))) == 1


def test_writability_is_probed_by_writing(tmp_path):
    folder, ro = tmp_path / "folder", tmp_path / "ro"
    folder.mkdir()
    ro.mkdir()
    proc = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(ro)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {proc.stderr.strip()}")
    try:
        assert writable(folder) and not writable(ro)  # a read-only mount stops root too
        assert temp_files(folder) == []
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


# ---- 7. one stop signal, one stop ----

@pytest.fixture
def stop_watch():
    """ablab.run.stop's handler installed in this process, and the handlers and state before it back after."""
    from ablab.run import stop

    saved = {s: signal.getsignal(s) for s in stop.STOP_SIGNALS}
    stop.reset()
    stop.watch()
    yield stop
    stop.reset()
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_sigterm_outside_lightning_raises_stopped_once_and_exits_143(stop_watch):
    with pytest.raises(stop_watch.Stopped):
        os.kill(os.getpid(), signal.SIGTERM)  # e.g. while data load or between jobs
    os.kill(os.getpid(), signal.SIGTERM)  # a second one, while the first unwinds: recorded, nothing raised
    os.kill(os.getpid(), signal.SIGINT)
    assert stop_watch.requested() and stop_watch.exit_code() == 143 and stop_watch.name() == "SIGTERM"
    with pytest.raises(stop_watch.Stopped):  # what every loop asks before it starts a job, batch, group or stage
        stop_watch.check()


def test_sigterm_inside_lightning_is_left_to_lightnings_handler(stop_watch):
    """During fit, Lightning's connector holds SIGTERM and calls the handler it found after its own:
    nothing is raised mid-batch, Lightning's loops stop at the batch's end."""
    from pytorch_lightning.trainer.connectors.signal_connector import _HandlersCompose

    noticed = []
    signal.signal(signal.SIGTERM, _HandlersCompose([lambda *_: noticed.append(1), signal.getsignal(signal.SIGTERM)]))
    os.kill(os.getpid(), signal.SIGTERM)
    assert noticed == [1] and stop_watch.requested() and stop_watch.exit_code() == 143
    with pytest.raises(KeyboardInterrupt):  # a Stopped: every `except KeyboardInterrupt` that ends a run ends it here
        stop_watch.check()


def test_a_stopped_study_stage_chooses_nothing_and_no_stage_starts_after_it(stop_watch, monkeypatch, tmp_path):
    """The stop came during stage `coarse`: the study returns 143 without reading coarse's incomplete
    results and without starting `fine`."""
    from types import SimpleNamespace

    from ablab.study import runner

    started, chosen = [], []

    def stage_stopped_by_sigterm(study, stage, carried, extra, out):
        started.append(stage.name)
        stop_watch._received.append(signal.SIGTERM)  # as the handler records it; the stage's sweep exits 143
        return 143

    monkeypatch.setattr(runner, "run_stage", stage_stopped_by_sigterm)
    monkeypatch.setattr(runner, "winner", lambda *a: chosen.append(a) or [])
    stages = [SimpleNamespace(name=n, predict=None, carry=[], sweep={"dropout": [0, 0.1]}) for n in ("coarse", "fine")]
    assert runner.run(SimpleNamespace(stages=stages), [], tmp_path) == 143
    assert started == ["coarse"] and chosen == []


def test_the_ofat_sweeper_launches_no_batch_after_a_stop(stop_watch):
    from hydra_plugins.ablab_sweepers.ofat_sweeper import OFATSweeper

    launched = []

    class Launcher:
        def launch(self, batch, initial_job_idx):
            launched.append(batch)
            return []

    sweeper = OFATSweeper()
    sweeper.launcher = Launcher()
    stop_watch._received.append(signal.SIGTERM)
    with pytest.raises(stop_watch.Stopped):
        sweeper._launch([["seed=0"], ["seed=1"]])  # a seed=auto round, a greedy step, a plain OFAT batch
    assert launched == []


def test_a_stop_signal_is_sent_on_to_the_devices_launchers_workers(stop_watch, tmp_path):
    """SIGTERM to the parent alone reaches each worker process (here one that sleeps, with the
    default SIGTERM action), and a job waiting for a slot then does not start."""
    import subprocess
    import sys
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from ablab.sweeps import devices

    workers = devices.Workers()
    assert stop_watch._forwards == [workers.pids] and workers.pids() == []  # no worker started yet
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_watch._forwards[0] = lambda: [worker.pid]  # as workers.pids names a started one
    try:
        with pytest.raises(stop_watch.Stopped):
            os.kill(os.getpid(), signal.SIGTERM)
        assert worker.wait(timeout=10) == -signal.SIGTERM
    finally:
        worker.kill()
    submitted = []
    launcher = SimpleNamespace(free_slots=lambda: devices.FreeSlots([(0, "0")]), jobs_per_device=1,
                               workers=SimpleNamespace(started=lambda: True, get=lambda *a: submitted.append(a)),
                               config=OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    with pytest.raises(stop_watch.Stopped):
        devices.launch(launcher, [["seed=0"]], 0)
    assert submitted == []


@pytest.mark.slow
def test_sigterm_to_the_devices_launchers_parent_stops_its_workers_jobs_as_interrupted(tmp_path):
    """Two simulated devices (CPU), three jobs; SIGTERM to the parent process alone, from job 0 or 1
    in its second epoch: the running jobs end interrupted with their first epoch, job 2 never
    starts, exit code 143. The job that sends the signal is training; the other worker may still
    be starting (importing torch on a loaded machine), and then it stops before its run begins
    and writes nothing, which loses nothing either."""
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/launcher=devices", "hydra.launcher.devices=[0,1]", "model=mlp", "model.hidden=[16]",
                   "seed=0,1,2", *TINY, "trainer.max_epochs=3", "+callbacks.term._target_=tests.fault_callbacks.SignalAt",
                   "+callbacks.term.epoch=1", "+callbacks.term.batch=2", f"+callbacks.term.once={tmp_path / 'once'}",
                   "+callbacks.term.parent=true", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 143, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    records = {job: read_results(sweep / job) for job in ("0", "1") if (sweep / job / "results.json").exists()}
    assert records and all(r["status"] == "interrupted" for r in records.values()), records
    assert not (sweep / "2").exists()


@pytest.mark.slow
def test_sigterm_stops_a_sweep_with_143_and_the_same_command_resumes_it(tmp_path):
    """SIGTERM in job 0's second epoch: job 0 ends interrupted with epoch 1 checkpointed, job 1 never
    starts, exit code 143; the same command finishes job 0 from its checkpoint and runs job 1."""
    sweep = tmp_path / "sweep"
    command = ["-m", "model=mlp", "model.hidden=[16]", "seed=0,1", *TINY, "trainer.max_epochs=2",
               "+callbacks.term._target_=tests.fault_callbacks.SignalAt", "+callbacks.term.epoch=1",
               "+callbacks.term.batch=2", f"+callbacks.term.once={tmp_path / 'once'}", f"hydra.sweep.dir={sweep}"]
    stopped = run_cli(*command)
    assert stopped.returncode == 143, stopped.stderr[-2000:]
    assert "Traceback" not in stopped.stderr
    assert f"ablab: sweep interrupted by SIGTERM; run the same command with hydra.sweep.dir={sweep}" in stopped.stderr
    record = read_results(sweep / "0")
    assert record["status"] == "interrupted" and len(record["history"]) == 1
    assert (sweep / "0" / "checkpoints" / "last.ckpt").is_file() and not (sweep / "1").exists()
    resumed = run_cli(*command)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    first, second = read_results(sweep / "0"), read_results(sweep / "1")
    assert first["status"] == second["status"] == "completed"
    assert first["resume"]["epoch"] == 0 and len(first["history"]) == 2  # on from epoch 1's checkpoint


@pytest.mark.slow
def test_sigterm_twice_stops_a_fused_group_with_every_member_interrupted(tmp_path):
    """A scheduler's SIGTERM, and a second one while the group stops: every member is an interrupted
    run with its finished epoch, the exit code is 143, and nothing else starts."""
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/launcher=fused", "model=mlp", "model.hidden=[16]", "seed=0,1", "optimizer.lr=0.01,0.1",
                   *TINY, "trainer.max_epochs=2", "+callbacks.term._target_=tests.fault_callbacks.SignalAt",
                   "+callbacks.term.epoch=1", "+callbacks.term.batch=2", "+callbacks.term.again=true",
                   f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 143, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "as one fused group of 4" in proc.stderr
    for j in range(4):
        record = read_results(sweep / str(j))
        assert record["status"] == "interrupted" and len(record["history"]) == 1, record


# ---- 8. every key checked ----

@pytest.fixture
def hydra_conf():
    from hydra import initialize_config_dir

    from ablab.paths import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        yield


def composed_with_hydra(*overrides: str):
    from hydra import compose

    return compose("train", overrides=list(overrides), return_hydra_config=True)


@pytest.mark.parametrize("overrides, message", [
    (["+trainer.max_epoch=5"], "unknown config key 'trainer.max_epoch' (from +trainer.max_epoch=5): ablab does not "
                               "read it; did you mean trainer.max_epochs"),
    (["+max_epochs=5"], "did you mean trainer.max_epochs?"),
    (["+callbacks.mine.every=5"], "callbacks.mine (from +callbacks.mine.every=5): a callback needs a _target_"),
    (["+callbacks.kill._target_=tests.fault_callbacks.KillAt", "+callbacks.kill.epochs=1"],
     "unknown config key 'callbacks.kill.epochs' (from +callbacks.kill.epochs=1): ablab does not read it; "
     "did you mean callbacks.kill.epoch?"),
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=0"], "hydra.launcher.n_jobs=0 is not allowed"),
    (["hydra/sweeper=ofat", "hydra.sweeper.min_seeds=1"], "hydra.sweeper.min_seeds=1 is not allowed: must be an integer >= 2"),
    (["hydra/sweeper=ofat", "hydra.sweeper.alpha=5"], "hydra.sweeper.alpha=5.0 is not allowed: must be a number in (0, 1)"),
    (["hydra/launcher=devices", "hydra.launcher.jobs_per_device=0"],
     "hydra.launcher.jobs_per_device=0 is not allowed: must be an integer >= 1"),
    (["hydra/launcher=devices", "hydra.launcher.devices=[0,-1]"], "hydra.launcher.devices=[0, -1] is not allowed"),
    (["hydra/launcher=devices", "hydra.launcher.devices=[1,1]"], "must be a list of distinct GPU numbers >= 0"),
    (["hydra/sweeper=search", "hydra.sweeper.direction=max"],
     "hydra.sweeper.direction='max' is not allowed: must be one of maximize, minimize"),
    (["hydra/sweeper=search", "hydra.sweeper.metric=val.accuracy"], "hydra.sweeper.metric='val.accuracy' is not allowed"),
    (["hydra/sweeper=search", "hydra.sweeper.n_trials=0"], "hydra.sweeper.n_trials=0 is not allowed: must be an integer >= 1"),
    (["hydra/sweeper=search", "hydra.sweeper.n_jobs=0"], "hydra.sweeper.n_jobs=0 is not allowed"),
    (["hydra/sweeper=search", "hydra.sweeper.heartbeat_s=0"], "hydra.sweeper.heartbeat_s=0 is not allowed: must be a number > 0"),
    (["hydra/sweeper=search", "hydra.sweeper.study_name=''"], "hydra.sweeper.study_name='' is not allowed"),
    (["hydra/sweeper=search", "hydra.sweeper.storage=5"], "hydra.sweeper.storage=5 is not allowed"),
    (["hydra/sweeper=search", "hydra.sweeper.n_trials=null"], "hydra.sweeper.n_trials=None is not allowed"),
])
def test_an_added_key_nothing_reads_or_a_plugins_bad_value_is_refused(hydra_conf, overrides, message):
    from ablab.cli.added_keys import refuse_added
    from ablab.schema import validate_plugins

    cfg = composed_with_hydra(*overrides)
    with pytest.raises(UserError) as error:
        refuse_added(cfg, "train")
        validate_plugins(cfg)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_added_keys_ablab_passes_on_are_accepted(hydra_conf):
    """A Lightning Trainer or torch.optim argument by its name, a callback of the user's own, and a
    key another option of its group reads (a study's strength for a sweep of regularizer=none,l1,l2)."""
    from ablab.cli.added_keys import refuse_added

    refuse_added(composed_with_hydra("+trainer.accumulate_grad_batches=2", "optimizer=sgd", "+optimizer.dampening=0.1",
                                     "+callbacks.kill._target_=tests.fault_callbacks.KillAt", "+callbacks.kill.epoch=1",
                                     "++dropout=0.1", "regularizer=none", "+regularizer.strength=0.001"), "train")


def test_a_key_an_experiment_file_adds_is_refused_by_name(hydra_conf, tmp_path):
    from ablab.cli.added_keys import refuse_added

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "typo.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /optimizer: sgd\noptimizer:\n  momentun: 0.9\n")
    cfg = composed_with_hydra(f"hydra.searchpath=[file://{tmp_path}]", "experiment=typo")
    with pytest.raises(UserError, match=r"unknown config key 'optimizer.momentun' \(from experiment=typo\): "
                                        r"ablab does not read it; did you mean optimizer.momentum\?"):
        refuse_added(cfg, "train")


@pytest.mark.parametrize("params, message", [
    ({"dropout": "interval(0.5, 0.1)"}, "hydra/sweeper=search cannot search 'dropout=interval(0.5, 0.1)'"),
    ({"trainer.max_epochs": "range(5, 1)"}, "hydra/sweeper=search cannot search 'trainer.max_epochs=range(5, 1)': "
                                            "'trainer.max_epochs=range(5, 1)' lists no value"),
])
def test_a_search_space_optuna_cannot_sample_is_refused(hydra_conf, params, message):
    from omegaconf import open_dict

    from ablab.sweeps.search_space import check_space

    cfg = composed_with_hydra("hparams_search=optuna")
    check_space(cfg)  # the shipped space parses
    with open_dict(cfg):
        cfg.hydra.sweeper.params = params
    with pytest.raises(UserError) as error:
        check_space(cfg)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_search_metrics_are_the_scalars_a_run_writes():
    from ablab.run.results import SCALAR_KEYS
    from ablab.schema.sweeper import SCALAR_KEYS as CHECKED

    assert CHECKED == SCALAR_KEYS


def test_the_sweepers_corrections_are_the_reports():
    from ablab.report.stats import CORRECTIONS
    from ablab.schema.sweeper import CORRECTIONS as CHECKED

    assert CHECKED == CORRECTIONS


@pytest.mark.parametrize("args, message", [
    (["emnist_ofat", "--seeds", "auto", "hydra.sweeper.max_seeds=2"],
     "study emnist_ofat, stage mlp_search: hydra.sweeper.max_seeds=2 is not allowed"),
    (["mnist_mlp_grid", "+trainer.max_epoch=2"], "unknown config key 'trainer.max_epoch' (from +trainer.max_epoch=2)"),
])
def test_a_study_refuses_a_plugins_bad_value_or_an_unread_key_before_any_stage(tmp_path, capsys, args, message):
    from ablab.study.__main__ import main

    assert main([*args, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ablab: error:") and message in err[0], err
    assert not (tmp_path / "s").exists()


def test_the_monitored_names_checked_are_the_ones_a_run_logs():
    """callbacks.checkpoint.monitor=val/accuracy is refused up front, not after an epoch's work."""
    from ablab.lit import SAME_AS_ACCURACY, split_metrics
    from ablab.schema.callbacks import MONITORED

    logged = {f"val/{k}" for k in split_metrics(10) if k not in SAME_AS_ACCURACY + ("per_class_acc", "confusion_matrix")}
    assert set(MONITORED) == logged | {"val/loss", "train/acc", "train/loss_epoch", "train/penalty"}
    from hydra import compose, initialize_config_dir

    from ablab.paths import CONF_DIR
    from ablab.schema import validate

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", ["callbacks.checkpoint.monitor=val/accuracy"])
    with pytest.raises(UserError, match="callbacks.checkpoint.monitor='val/accuracy' is not allowed: must be one of val/acc"):
        validate(cfg)
