"""Real digits: a brief CNN run on the embedded MNIST sample must reach a real accuracy.

A broken pipeline (wrong normalisation, shuffled labels, transposed images) shows at
once as a much lower number. This is the default run (`python train.py`: the sample's
8,101 / 899 / 1,000 split), shortened to 2 epochs.
"""
from tests.conftest import read_results, run_cli


def test_default_run_reaches_97_percent_on_the_embedded_sample(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("trainer.max_epochs=2", "viz=none", f"hydra.run.dir={run_dir}", timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = read_results(run_dir)
    assert results["status"] == "completed"
    assert sum(results["train_class_counts"].values()) == 8101
    assert len(results["val"]["per_class_acc"]) == 10
    assert results["val"]["acc"] >= 0.97, results["val"]
    assert results["test"]["acc"] >= 0.97, results["test"]
    # The summary a user reads at the end of the run.
    assert "ablab: run completed" in proc.stdout and f"run dir   {run_dir}" in proc.stdout
