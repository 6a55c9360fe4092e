"""Shared fixtures: fake datasets on disk and a helper that runs train.py as a user would."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import fakes

REPO = Path(__file__).resolve().parents[1]
# Optional real colour images for the folder path: a folder of CIFAR-10 JPEGs laid out as
# train/<class>/*.jpg. ABLAB_TEST_CIFAR_FOLDER names it; by default the team's workbench copy
# beside the repository, when it is there. Tests that need it skip without it.
CIFAR_FOLDER = Path(os.environ.get("ABLAB_TEST_CIFAR_FOLDER", REPO.parent / "shared" / "datasets" / "cifar10-mini"))
TINY = ["trainer.max_epochs=1", "trainer.limit_train_batches=3", "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2", "viz=none"]


def run_cli(*args: str, script: str = "train.py", timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "ABLAB_CACHE": os.environ.get("ABLAB_CACHE", "")}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run([sys.executable, script, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def read_results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    return fakes.mnist_root(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="session")
def fashion_dir(tmp_path_factory) -> Path:
    return fakes.mnist_root(tmp_path_factory.mktemp("fashion"), folder="FashionMNIST")


@pytest.fixture(scope="session")
def emnist_dir(tmp_path_factory) -> Path:
    return fakes.emnist_root(tmp_path_factory.mktemp("emnist"))


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory) -> Path:
    return fakes.cifar10_root(tmp_path_factory.mktemp("cifar"))


@pytest.fixture(scope="session")
def folder_dir(tmp_path_factory) -> Path:
    return fakes.folder_root(tmp_path_factory.mktemp("folder"))


@pytest.fixture(autouse=True, scope="session")
def _cache_outside_home(tmp_path_factory):
    # Read-only roots cache under ABLAB_CACHE; keep the tests' caches out of ~/.cache.
    os.environ["ABLAB_CACHE"] = str(tmp_path_factory.mktemp("ablab-cache"))
