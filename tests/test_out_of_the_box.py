"""A new user's first contact: offline default data, any directory, an installed package,
clear answers to mistakes, and the Python API that README shows."""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, TINY, read_results, run_cli


def _run_in(cwd: Path, *command: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_embedded_sample_is_the_official_mnist_test_set():
    """Byte-identical to the files torchvision downloads (their md5 as torchvision lists them)."""
    from torchvision.datasets import MNIST

    from ablab.data.datasets import SAMPLE_DIR

    official = {Path(url).name: md5 for url, md5 in MNIST.resources if "t10k" in url}
    assert {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in SAMPLE_DIR.glob("*.gz")} == official


def test_the_embedded_sample_splits_three_ways_stratified_and_disjoint():
    from ablab.data.datasets import MNISTSampleDataModule

    dm = MNISTSampleDataModule(seed=0)
    dm.setup("fit")
    sizes = {name: len(y) for name, (_, y) in dm.splits.items()}
    assert sizes == {"train": 8101, "val": 899, "test": 1000}
    whole = torch.cat([y for _, y in dm.splits.values()])
    for name, (_, y) in dm.splits.items():  # every class in proportion, in every split
        share = torch.bincount(y, minlength=10).double() / torch.bincount(whole, minlength=10)
        assert torch.allclose(share, torch.full((10,), sizes[name] / 10_000, dtype=torch.float64), atol=0.01), name

    def digests(x):
        return {hashlib.sha1(image.numpy().tobytes()).hexdigest() for image in x}

    train, val, test = (digests(dm.splits[s].x) for s in ("train", "val", "test"))
    assert not (val & test) and not (val & train) and not (test & train)  # test is not validation


@pytest.mark.slow
def test_python_train_runs_offline_from_any_directory(tmp_path):
    """No data.root, no network, a directory that is not the repository."""
    proc = _run_in(tmp_path, sys.executable, str(REPO / "train.py"), *TINY)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = next((tmp_path / "outputs").glob("*/*"))
    results = read_results(run_dir)
    assert results["status"] == "completed" and results["overrides"] == TINY
    assert sum(results["train_class_counts"].values()) == 8101
    summary = proc.stdout[proc.stdout.index("ablab: run completed"):]
    assert re.search(r"val +acc \d\.\d{4} +macro F1 \d\.\d{4}", summary)
    assert re.search(r"test +acc \d\.\d{4} +macro F1 \d\.\d{4}", summary)
    assert f"run dir   outputs/{run_dir.parent.name}/{run_dir.name}" in summary
    # Lightning's known noise is gone, each message by its own filter; real warnings are not hidden.
    for noise in ("LeafSpec", "smaller than the logging interval", "litlogger"):
        assert noise not in proc.stderr + proc.stdout


def test_no_product_file_points_at_the_team_workbench():
    product = [REPO / "train.py", REPO / "eval.py", REPO / "predict.py",
               *(REPO / "conf").rglob("*.yaml"), *(REPO / "src").rglob("*.py")]
    offenders = [str(p.relative_to(REPO)) for p in product if "shared/datasets" in p.read_text()]
    assert offenders == []
    quickstart = (REPO / "README.md").read_text().split("## A sweep and its report")[0]
    assert "shared" not in quickstart


@pytest.mark.parametrize("environment", [{}, {"HYDRA_FULL_ERROR": "0"}], ids=["plain", "HYDRA_FULL_ERROR=0"])
def test_a_bad_value_is_one_line_exit_2_and_leaves_no_run_directory(tmp_path, environment):
    proc = _run_in(tmp_path, sys.executable, str(REPO / "train.py"), "optimizer.lr=-1", env=environment)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "ablab: error: optimizer.lr=-1 is not allowed: must be a number > 0"
    assert not (tmp_path / "outputs").exists()
    sweep = _run_in(tmp_path, sys.executable, str(REPO / "train.py"), "-m", "seed=1,2", "dropout=1.5", env=environment)
    assert sweep.returncode == 2 and sweep.stderr.strip().startswith("ablab: error: dropout=1.5")
    assert "interrupted" not in proc.stderr + sweep.stderr
    assert not (tmp_path / "multirun").exists()


def test_a_misspelt_key_or_group_gets_the_closest_valid_name(tmp_path):
    for typo, hint in [("optimizr=adam", "did you mean optimizer?"),
                       ("optimizer.lrr=0.1", "did you mean optimizer.lr?"),
                       ("trainer.max_epoch=3", "did you mean trainer.max_epochs?"),
                       ("max_epochs=3", "did you mean trainer.max_epochs?"),  # a group's key at the top
                       ("channels_last=true", "did you mean model.channels_last?")]:  # a key that moved
        proc = run_cli(typo, f"hydra.run.dir={tmp_path}/run")
        assert proc.returncode == 2 and hint in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_ctrl_c_says_interrupted_prints_the_resume_command_and_exits_130(tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "train.py", "model=mlp", "trainer.max_epochs=1000", "trainer.limit_train_batches=2",
               "trainer.limit_val_batches=1", "viz=none", f"hydra.run.dir={run_dir}"]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 120
    while not (run_dir / "checkpoints" / "last.ckpt").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert "ablab: interrupted" in stderr
    assert f"ckpt_path={run_dir}/checkpoints/last.ckpt" in stderr
    assert read_results(run_dir)["status"] == "interrupted"


def test_named_datamodules_need_no_hydra(emnist_dir, cifar_dir, folder_dir):
    from ablab.data.datasets import CIFAR10DataModule, EMNISTDataModule, ImageFolderDataModule

    emnist = EMNISTDataModule(str(emnist_dir), download=False)
    emnist.setup("fit")
    assert emnist.num_classes == 47 and emnist.input_shape == (1, 28, 28)
    tail = EMNISTDataModule(str(emnist_dir), download=False, longtail={"profile": "exponential", "ratio": 10})
    tail.setup("fit")
    assert tail.train_counts[0] == emnist.train_counts[0] and tail.train_counts[-1] < emnist.train_counts[-1]
    cifar = CIFAR10DataModule(str(cifar_dir), download=False)
    cifar.setup("fit")
    assert cifar.input_shape == (3, 32, 32) and cifar.preprocess.mean == [0.4914, 0.4822, 0.4465]
    folder = ImageFolderDataModule(str(folder_dir))
    folder.setup("fit")
    assert folder.num_classes >= 2 and len(folder.preprocess.mean) == 3  # measured on its training images


def test_readme_python_api_example_runs():
    """docs/python-api.md's code block, run as written there but for a few batches only."""
    page = (REPO / "docs" / "python-api.md").read_text()
    block = page.split("# Python API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(block.replace("max_epochs=1", "max_epochs=1, limit_train_batches=5, limit_test_batches=1"),
                 "docs/python-api.md", "exec"), scope)
    assert 0.0 <= scope["test_acc"] <= 1.0


@pytest.mark.slow
def test_pip_install_into_a_fresh_venv_runs_from_another_directory(tmp_path):
    """A non-editable install carries conf/ and the MNIST sample; `ablab-train` runs anywhere."""
    env_dir = tmp_path / "venv"
    # torch & co. and a current pip and setuptools from this interpreter (ensurepip would bring an old setuptools).
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    source = tmp_path / "source"  # a copy: setuptools builds in the tree it is given (build/, *.egg-info)
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "outputs", "multirun", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    build = _run_in(tmp_path, str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                    "--quiet", str(source), timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    # The installed copy, not the repository's src/, answers.
    where = _run_in(tmp_path, str(python), "-c", "import ablab, sys; print(ablab.__file__)", env={"PYTHONPATH": ""})
    assert str(env_dir) in where.stdout, where.stdout + where.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = _run_in(work, str(env_dir / "bin" / "ablab-train"), *TINY, "model=mlp", env={"PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = read_results(next((work / "outputs").glob("*/*")))
    assert results["status"] == "completed" and sum(results["train_class_counts"].values()) == 8101
