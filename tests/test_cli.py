"""train.py driven as a user drives it: one run, a sweep, every dataset, and every kind of bad input."""
import json

import pytest
import yaml

from ablab.run import predictions

from tests.conftest import TINY, read_results, run_cli

SPLIT_KEYS = {"loss", "acc", "precision_micro", "precision_macro", "recall_micro", "recall_macro",
              "f1_micro", "f1_macro", "per_class_acc"}
RUN_KEYS = {"status", "error", "overrides", "seed", "epochs", "best_epoch", "wall_s",
            "train_images_per_s", "params", "val", "test"}


def test_single_run_writes_the_run_directory_contract(mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("data=mnist", f"data.root={mnist_dir}", "model=mlp", *TINY, "trainer.max_epochs=2", "trainer.log_every_n_steps=1",
                   f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = read_results(run_dir)
    assert RUN_KEYS <= results.keys() and results["status"] == "completed" and results["error"] is None
    assert SPLIT_KEYS == results["val"].keys() == results["test"].keys()
    assert len(results["test"]["per_class_acc"]) == 10 and 0 <= results["test"]["acc"] <= 1
    assert results["epochs"] == 2 and results["params"] > 1000 and results["train_images_per_s"] > 0
    assert "model=mlp" in results["overrides"]
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())["model"]["hidden"] == [512, 256, 128]
    assert {p.name for p in (run_dir / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}
    # Per-example evidence of the best epoch: its predictions reproduce its accuracies exactly.
    for split in ("val", "test"):
        pred, label = predictions.read(run_dir, split)
        assert len(pred) == len(label) > 0
        assert (pred == label).mean() == pytest.approx(results[split]["acc"], abs=1e-6)
    events = list(run_dir.rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event files"
    scalars = _tensorboard_scalars(events[0].parent)
    # The learning curves as the first group (curves/), then lr, test, train, val and the final metrics (~hp/).
    assert {"curves/loss_train", "curves/loss_val", "curves/acc_train", "curves/acc_val", "train/loss_step",
            "val/f1_macro", "test/acc", "~hp/test_acc"} <= scalars
    assert "lr" in scalars and "epoch" not in scalars and not any(t.startswith("lr-") for t in scalars)
    # A single run's name: its own overrides, not how it was run (data.root, limits, hydra.*).
    assert events[0].parent.name == "mnist mlp epochs=2 s0"


def _tensorboard_scalars(log_dir) -> set:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for event_file in log_dir.glob("events.out.tfevents.*"):
        acc = EventAccumulator(str(event_file))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
    return tags


def test_sweep_runs_one_job_per_value(mnist_dir, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "optimizer=sgd,adam,rmsprop", "data=mnist", f"data.root={mnist_dir}", "model=mlp", *TINY,
                   f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [j.name for j in jobs] == ["0", "1", "2"]
    optimizers = [read_results(j)["overrides"] for j in jobs]
    assert [o[0] for o in optimizers] == ["optimizer=sgd", "optimizer=adam", "optimizer=rmsprop"]
    assert all(read_results(j)["status"] == "completed" for j in jobs)
    run_names = sorted({e.parent.relative_to(sweep).as_posix() for e in sweep.rglob("events.out.tfevents.*")})
    assert run_names == ["0/sgd s0", "1/adam s0", "2/rmsprop s0"]  # what differs, nothing shared


@pytest.mark.parametrize("data, fixture, classes, shape", [
    ("fashion_mnist", "fashion_dir", 10, [1, 28, 28]),
    ("emnist", "emnist_dir", 47, [1, 28, 28]),
    ("cifar10", "cifar_dir", 10, [3, 32, 32]),
    ("folder", "folder_dir", 3, [3, 20, 20]),
])
@pytest.mark.slow
def test_every_dataset_trains_through_the_cli(data, fixture, classes, shape, request, tmp_path):
    root = request.getfixturevalue(fixture)
    run_dir = tmp_path / "run"
    proc = run_cli(f"data={data}", f"data.root={root}", "model=cnn", *TINY, f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = read_results(run_dir)
    assert results["status"] == "completed" and len(results["test"]["per_class_acc"]) == classes
    import torch

    meta = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)["ablab"]["preprocess"]
    assert meta["input_shape"] == shape and len(meta["classes"]) == classes


@pytest.mark.parametrize("override, message", [
    ("optimizer=adamm", "unknown optimizer 'adamm'; choose one of: adagrad, adam,"),
    ("model=transformer", "unknown model 'transformer'; choose one of:"),
    ("trainer.max_epoch=3", "trainer.max_epoch"),
    ("optimizer.lr=-0.1", "optimizer.lr=-0.1 is not allowed: must be a number > 0"),
    ("data=folder", "data.root must be set"),
])
def test_bad_input_is_one_line_and_exit_code_2(override, message, mnist_dir, tmp_path):
    proc = run_cli(override, f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_gpu_asked_for_on_a_machine_without_one_is_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = run_cli("trainer.accelerator=gpu", f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "ablab: error: trainer.accelerator=gpu but no CUDA GPU is visible here (torch.cuda.is_available() is False); "
        "use trainer.accelerator=auto or cpu"]


@pytest.mark.slow
def test_a_folder_with_one_class_or_too_few_images_is_refused_before_training(tmp_path):
    from tests import fakes

    one = fakes.folder_root(tmp_path / "one", classes=("cat",), per_class=10)
    proc = run_cli("data=folder", f"data.root={one}", f"hydra.run.dir={tmp_path}/run1")
    assert proc.returncode == 2 and "has 1 class (cat); a classifier needs at least 2" in proc.stderr
    few = fakes.folder_root(tmp_path / "few", classes=("cat", "dog"), per_class=3)
    proc = run_cli("data=folder", f"data.root={few}", f"hydra.run.dir={tmp_path}/run2")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "split has no images of class cat, dog: too few images per class" in proc.stderr
    assert not (tmp_path / "run2" / "checkpoints").exists()  # nothing trained


@pytest.mark.slow
def test_an_error_no_check_knows_is_one_line_pointing_at_the_log(tmp_path, mnist_dir):
    """A bug's traceback goes to train.log, the terminal gets one line and exit code 1."""
    proc = run_cli("data=mnist", f"data.root={mnist_dir}", "+callbacks.fail._target_=tests.fault_callbacks.FailAtStart",
                   "viz=none", f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and len(lines) == 1 and lines[0].startswith("ablab: error: ")
    assert f"(traceback in {tmp_path}/run/train.log)" in lines[0]
    assert "Traceback" in (tmp_path / "run" / "train.log").read_text()


def test_predict_refuses_a_bad_batch_size_and_a_missing_gpu_in_one_line(tmp_path):
    import torch

    proc = run_cli("ckpt_path=x.ckpt", "input=y.png", "batch_size=0", script="predict.py")
    assert proc.returncode == 2 and proc.stderr.strip() == "ablab: error: batch_size=0 is not allowed: must be an integer >= 1"
    if not torch.cuda.is_available():
        proc = run_cli("ckpt_path=x.ckpt", "input=y.png", "device=cuda", f"hydra.run.dir={tmp_path}/p", script="predict.py")
        assert proc.returncode == 2 and proc.stderr.strip().startswith("ablab: error: device=cuda but no CUDA GPU")


def test_folder_root_that_does_not_exist(tmp_path):
    proc = run_cli("data=folder", f"data.root={tmp_path}/nowhere", f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"ablab: error: data.root='{tmp_path}/nowhere' has no train/ folder; "
                                   "data=folder reads <data.root>/train/<class name>/<image files>")
    assert not (tmp_path / "run").exists()  # checked before Hydra made the run directory


def test_dataset_neither_on_disk_nor_downloadable(tmp_path):
    proc = run_cli("data=mnist", f"data.root={tmp_path}", "data.download=false", f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert f"not found in {tmp_path}/MNIST/raw" in proc.stderr and "place the files there" in proc.stderr


def test_corrupt_data_file_is_named(tmp_path):
    from tests import fakes

    root = fakes.mnist_root(tmp_path / "data")
    labels = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(b"\x00\x00\x08\x01garbage")
    proc = run_cli("data=mnist", f"data.root={root}", "data.cache=false", f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "corrupt data file" in proc.stderr and "t10k-labels-idx1-ubyte" in proc.stderr
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "failed"


@pytest.mark.slow
def test_non_finite_loss_stops_and_records_diverged(mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("data=mnist", f"data.root={mnist_dir}", "model=mlp", "norm=none", "optimizer=sgd", "optimizer.lr=1e12",
                   "scheduler=none", *TINY, "trainer.max_epochs=3", f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = read_results(run_dir)
    assert results["status"] == "diverged" and "loss" in results["error"]
    assert "diverged" in proc.stderr


@pytest.mark.slow
def test_resume_from_last_checkpoint_continues_training(mnist_dir, tmp_path):
    # A schedule whose length is fixed at the start (onecycle) cannot be stretched by a
    # resumed run with more epochs; a per-epoch step schedule can.
    first, second = tmp_path / "first", tmp_path / "second"
    proc = run_cli("data=mnist", f"data.root={mnist_dir}", "model=mlp", "scheduler=step", *TINY, f"hydra.run.dir={first}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = first / "checkpoints" / "last.ckpt"
    proc = run_cli("data=mnist", f"data.root={mnist_dir}", "model=mlp", "scheduler=step", *TINY, "trainer.max_epochs=2", f"ckpt_path={last}",
                   f"hydra.run.dir={second}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = read_results(second)
    assert results["status"] == "completed" and results["epochs"] == 2
    import torch

    assert torch.load(second / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 6  # 3 + 3 steps
