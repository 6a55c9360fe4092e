"""Real digits: a brief CNN run on the official MNIST test set must reach a real accuracy.

A broken pipeline (wrong normalisation, shuffled labels, transposed images) shows at
once as a much lower number. Uses ../shared/datasets/mnist-t10k, split 8,000/2,000.
"""
import pytest

from tests.conftest import SHARED, read_results, run_cli

T10K = SHARED / "mnist-t10k"


@pytest.mark.skipif(not (T10K / "t10k-images-idx3-ubyte.gz").exists(), reason="../shared/datasets not present")
def test_cnn_reaches_97_percent_on_real_mnist(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("data=mnist_t10k", f"data.root={T10K}", "model=cnn", "trainer.max_epochs=2", "viz=none",
                   f"hydra.run.dir={run_dir}", timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = read_results(run_dir)
    assert results["status"] == "completed"
    assert len(results["val"]["per_class_acc"]) == 10
    assert results["val"]["acc"] >= 0.97, results["val"]
