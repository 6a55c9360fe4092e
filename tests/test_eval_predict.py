"""eval.py and predict.py driven as a user drives them, on one tiny checkpoint trained once per session."""
import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import read_results, run_cli

SPLIT_KEYS = {"loss", "acc", "precision_micro", "precision_macro", "recall_micro", "recall_macro",
              "f1_micro", "f1_macro", "per_class_acc"}
FIGURES = {"train_samples.png", "confusion_matrix.png", "confusion_matrix_normalized.png",
           "per_class_accuracy.png", "test_predictions.png", "first_layer_weights.png"}


@pytest.fixture(scope="session")
def trained(mnist_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    proc = run_cli("data=mnist", f"data.root={mnist_dir}", "model=mlp", "trainer.max_epochs=1", "trainer.limit_train_batches=3",
                   "viz=none", f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run_dir


@pytest.fixture(scope="session")
def test_split(mnist_dir):
    """The fake MNIST test images (N, 28, 28) uint8 and labels, read back from their IDX files."""
    raw = mnist_dir / "MNIST" / "raw"
    images = np.frombuffer((raw / "t10k-images-idx3-ubyte").read_bytes()[16:], np.uint8).reshape(-1, 28, 28)
    return images, np.frombuffer((raw / "t10k-labels-idx1-ubyte").read_bytes()[8:], np.uint8)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_eval_reproduces_the_runs_test_metrics_and_draws_figures(trained, tmp_path):
    out = tmp_path / "eval"
    proc = run_cli(f"ckpt_path={trained}/checkpoints/best.ckpt", f"hydra.run.dir={out}", script="eval.py")
    assert proc.returncode == 0, proc.stderr[-2000:]
    test = json.loads((out / "eval.json").read_text())["test"]
    assert SPLIT_KEYS <= test.keys()
    assert test == read_results(trained)["test"]  # same data, same weights: the same numbers, exactly
    assert FIGURES <= {p.name for p in (out / "figures").glob("*.png")}
    assert list((out / "eval").glob("events.out.tfevents.*"))  # TensorBoard run <out>/eval


def test_predict_on_image_files_and_on_a_kaggle_csv(trained, test_split, tmp_path):
    images, labels = test_split
    classes = torch.load(trained / "checkpoints" / "best.ckpt", weights_only=True)["ablab"]["preprocess"]["classes"]
    folder = tmp_path / "pngs"
    for i, image in enumerate(images):
        (folder / f"part{i % 2}").mkdir(parents=True, exist_ok=True)  # subfolders are searched too
        Image.fromarray(image).save(folder / f"part{i % 2}" / f"{i:03d}.png")
    (folder / "notes.txt").write_text("not an image")
    kaggle = tmp_path / "test.csv"
    with open(kaggle, "w", newline="") as f:
        csv.writer(f).writerows([[f"pixel{j}" for j in range(28 * 28)], *images.reshape(len(images), -1).tolist()])

    out = tmp_path / "predict"
    proc = run_cli(f"ckpt_path={trained}/checkpoints/best.ckpt", f"input={folder}", f"hydra.run.dir={out}",
                   script="predict.py")
    assert proc.returncode == 0, proc.stderr[-2000:]
    header, *rows = read_csv(out / "predictions.csv")
    assert header == ["file", "class", "probability"] and len(rows) == len(images)
    index = {f"part{i % 2}/{i:03d}.png": i for i in range(len(images))}
    assert sorted(r[0] for r in rows) == sorted(index)
    predicted = np.array([classes.index(r[1]) for r in sorted(rows, key=lambda r: index[r[0]])])
    assert all(0 < float(r[2]) <= 1 for r in rows)
    # Lossless PNGs of the test split: the predictions score exactly the run's test accuracy.
    correct = round(read_results(trained)["test"]["acc"] * len(images))
    assert (predicted == labels).sum() == correct

    submission = tmp_path / "submission.csv"
    proc = run_cli(f"ckpt_path={trained}/checkpoints/best.ckpt", f"input={kaggle}", f"output={submission}",
                   f"hydra.run.dir={tmp_path}/predict_csv", script="predict.py")
    assert proc.returncode == 0, proc.stderr[-2000:]
    header, *rows = read_csv(submission)
    assert header == ["ImageId", "Label"]
    assert [int(r[0]) for r in rows] == list(range(1, len(images) + 1))
    assert [int(r[1]) for r in rows] == predicted.tolist()  # the same images give the same classes


@pytest.mark.parametrize("case, message", [
    ("text_file", "not an ablab checkpoint"),
    ("csv_of_other_shape", "has 3072 pixel columns but the checkpoint's model takes 1x28x28 = 784"),
    ("data_of_other_shape", "has 3x32x32 images but the checkpoint's model takes 1x28x28"),
])
def test_bad_checkpoint_or_input_is_one_line_and_exit_code_2(case, message, trained, request, tmp_path):
    ckpt = f"ckpt_path={trained}/checkpoints/best.ckpt"
    csv_file = tmp_path / "pixels.csv"
    csv_file.write_text(",".join(f"pixel{j}" for j in range(3072)) + "\n" + ",".join(["0"] * 3072) + "\n")
    if case == "text_file":
        (tmp_path / "x.ckpt").write_text("hello")
        args, script = [f"ckpt_path={tmp_path}/x.ckpt", f"input={csv_file}"], "predict.py"
    elif case == "csv_of_other_shape":
        args, script = [ckpt, f"input={csv_file}"], "predict.py"
    else:
        args, script = [ckpt, "data=cifar10", f"data.root={request.getfixturevalue('cifar_dir')}", "viz=none"], "eval.py"
    proc = run_cli(*args, f"hydra.run.dir={tmp_path}/out", script=script)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_a_torch_file_without_ablab_metadata_is_not_a_checkpoint(tmp_path):
    from ablab.run import checkpoint
    from ablab.errors import UserError

    torch.save({"state_dict": {"model.weight": torch.zeros(2)}}, tmp_path / "plain.ckpt")
    with pytest.raises(UserError, match=r"not an ablab checkpoint \(no 'ablab' metadata\)"):
        checkpoint.load(tmp_path / "plain.ckpt")


def test_a_checkpoint_written_before_the_package_moved_still_loads(trained, tmp_path):
    """Checkpoints pickle no ablab class (only tensors and plain values); module paths appear in
    the run's stored config, which named ablab.callbacks.* before run/ existed. Such a file still
    evaluates to the same numbers, predicts and resumes: ablab.run.stored rewrites the old paths."""
    raw = torch.load(trained / "checkpoints" / "best.ckpt", weights_only=False)
    config = raw["ablab"]["config"]
    for callback in config["callbacks"].values():
        if callback and callback.get("_target_", "").startswith("ablab.run.callbacks."):
            callback["_target_"] = callback["_target_"].replace("ablab.run.callbacks.", "ablab.callbacks.")
    assert "ablab.callbacks.DivergenceGuard" in json.dumps(config)
    old = tmp_path / "old.ckpt"
    torch.save(raw, old)

    out = tmp_path / "eval"
    proc = run_cli(f"ckpt_path={old}", f"hydra.run.dir={out}", "viz=none", script="eval.py")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((out / "eval.json").read_text())["test"] == read_results(trained)["test"]

    resumed = tmp_path / "resumed"
    proc = run_cli("data=mnist", f"data.root={raw['ablab']['config']['data']['root']}", "model=mlp",
                   "trainer.max_epochs=1", "trainer.limit_train_batches=3", "viz=none", f"ckpt_path={old}",
                   f"hydra.run.dir={resumed}")  # the same schedule: its one epoch is done, so resume tests it
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_results(resumed)["resume"]["checkpoint"] == str(old)
    assert read_results(resumed)["test"] == read_results(trained)["test"]

    # predict.py reads it as any run's (a Kaggle-style CSV of 3 images: a row and a class each).
    images = tmp_path / "images.csv"
    images.write_text("\n".join([",".join(f"pixel{i}" for i in range(784))] + ["0," * 783 + "255"] * 3))
    proc = run_cli(f"ckpt_path={old}", f"input={images}", f"hydra.run.dir={tmp_path}/predict", script="predict.py")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len((tmp_path / "predict" / "predictions.csv").read_text().splitlines()) == 4


def test_a_stored_configs_old_targets_are_rewritten_to_where_they_are():
    import importlib

    from ablab.run import stored

    config = {"callbacks": {"guard": {"_target_": "ablab.callbacks.DivergenceGuard"}},
              "augment": {"_target_": "ablab.data.augment.Digits", "degrees": 10},
              "model": {"_target_": "ablab.models.mlp.MLP", "hidden": [{"_target_": "ablab.resumable.RunClock"}]}}
    assert stored.current(config) == {
        "callbacks": {"guard": {"_target_": "ablab.run.callbacks.DivergenceGuard"}},
        "augment": {"_target_": "ablab.data.augment.Affine", "degrees": 10},
        "model": {"_target_": "ablab.models.mlp.MLP", "hidden": [{"_target_": "ablab.run.resume.state.RunClock"}]}}
    for new in stored.MOVED.values():  # every rule points at code that is there
        if new.endswith("."):
            importlib.import_module(new[:-1])
        else:
            module, _, name = new.rpartition(".")
            assert hasattr(importlib.import_module(module), name), new
