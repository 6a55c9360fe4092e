"""results.json `history` and the curve figures, from real (tiny) runs of train.py."""
import json

import pytest

from ablab.report.__main__ import main
from tests.conftest import TINY, read_results, run_cli

FIELDS = {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_f1_macro", "lr"}
PNG = b"\x89PNG\r\n\x1a\n"


def test_tiny_sweep_has_history_per_epoch_and_curve_pngs(mnist_dir, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "optimizer=sgd,adam", "seed=0,1", "data=mnist", f"data.root={mnist_dir}", "model=mlp", *TINY,
                   "trainer.max_epochs=3", "viz=none", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert len(jobs) == 4
    for job in jobs:
        history = read_results(job)["history"]
        assert [e["epoch"] for e in history] == [1, 2, 3] and all(e.keys() == FIELDS for e in history)
        assert all(e["lr"] > 0 and 0 <= e["val_acc"] <= 1 and e["train_loss"] > 0 for e in history)
    assert main([str(sweep), "--metric", "val.acc"]) == 0
    assert (sweep / "curves_optimizer.png").read_bytes()[:8] == PNG
    assert "![optimizer](curves_optimizer.png)" in (sweep / "report.md").read_text()


@pytest.mark.slow
def test_run_curves_png_and_resume_keeps_each_epoch_once(mnist_dir, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    proc = run_cli("data=mnist", f"data.root={mnist_dir}", "model=mlp", *TINY, "trainer.max_epochs=2", "scheduler=step", "viz=default",
                   "viz.every_n_epochs_histograms=0", f"hydra.run.dir={first}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (first / "figures" / "curves.png").read_bytes()[:8] == PNG
    before = read_results(first)["history"]
    assert [e["epoch"] for e in before] == [1, 2]  # counted from 1, as people count
    # Continue the same run for two more epochs from its last checkpoint, into a new dir.
    proc = run_cli("data=mnist", f"data.root={mnist_dir}", "model=mlp", *TINY, "trainer.max_epochs=4", "scheduler=step",
                   f"ckpt_path={first}/checkpoints/last.ckpt", f"hydra.run.dir={second}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = read_results(second)["history"]
    assert [e["epoch"] for e in after] == [1, 2, 3, 4]
    assert after[:2] == json.loads(json.dumps(before))  # the first two epochs, exactly as recorded
