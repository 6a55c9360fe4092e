"""viz.draw: a sweep's jobs save their figure data and the sweep draws it as it ends (or, with
viz.draw=later, `python -m ablab.viz`), the same figures a single run draws at once."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import REPO, TINY, run_cli

FIGURES = {"train_samples", "confusion_matrix", "confusion_matrix_normalized", "per_class_accuracy",
           "test_predictions", "first_layer_weights", "curves"}
RUN = ["data=mnist", "model=mlp", *TINY, "viz=default", "viz.every_n_epochs_histograms=0"]


def draw_later(*dirs):
    return subprocess.run([sys.executable, "-m", "ablab.viz", *map(str, dirs)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_sweep_jobs_save_figure_data_that_the_sweep_draws_as_a_run_would(mnist_dir, tmp_path):
    single, sweep, later = tmp_path / "single", tmp_path / "sweep", tmp_path / "later"
    # seed=0 as the sweep's: the same run, so the same name in each figure's footer
    proc = run_cli(*RUN, "seed=0", f"data.root={mnist_dir}", f"hydra.run.dir={single}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert FIGURES <= {p.stem for p in (single / "figures").glob("*.png")}  # a single run draws at once

    # A sweep (viz.draw=auto): its jobs save, the sweep draws them all as it ends.
    proc = run_cli("-m", "seed=0", *RUN, f"data.root={mnist_dir}", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ablab: drawing the figures of 1 job (1 process) ..." in proc.stdout and "ablab.viz" not in proc.stdout
    for name in FIGURES:
        assert (sweep / "0" / "figures" / f"{name}.png").read_bytes() == (single / "figures" / f"{name}.png").read_bytes()
    assert not (sweep / "0" / "figures" / "figures.pt").exists()

    proc = run_cli("-m", "seed=0", *RUN, "viz.draw=later", f"data.root={mnist_dir}", f"hydra.sweep.dir={later}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    sweep, figures = later, later / "0" / "figures"
    assert (figures / "figures.pt").is_file() and not list(figures.glob("*.png"))
    assert f"python -m ablab.viz {sweep}" in proc.stdout

    done = draw_later(sweep)
    assert done.returncode == 0 and "drew the figures of 1 run" in done.stdout, done.stderr[-2000:]
    for name in FIGURES:  # the same run, the same pixels: nothing is lost by drawing later
        assert (figures / f"{name}.png").read_bytes() == (single / "figures" / f"{name}.png").read_bytes(), name
    run_tb = next((sweep / "0").rglob("events.out.tfevents.*")).parent  # the job's own TensorBoard run
    events = EventAccumulator(str(run_tb), size_guidance={"images": 0}).Reload()
    assert {f"figures/{name}" for name in FIGURES} <= set(events.Tags()["images"])
    assert not (figures / "figures.pt").exists()
    again = draw_later(sweep)
    assert again.returncode == 0 and "no run here has figures waiting" in again.stdout


@pytest.mark.slow
def test_sweep_jobs_on_long_tailed_data_save_the_long_tail_charts_for_later_too(mnist_dir, tmp_path):
    # One sweep, two jobs of the same run: job 0 draws in the job (viz.draw=end), job 1 saves for later.
    charts = {"train_class_counts", "longtail_accuracy"}
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "viz.draw=end,later", "data=mnist_lt", f"data.root={mnist_dir}", "data.download=false",
                   "model=mlp", "data.longtail.ratio=10", "data.batch_size=32", *TINY, "viz=default",
                   "viz.every_n_epochs_histograms=0", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    drawn, later = sweep / "0" / "figures", sweep / "1" / "figures"
    assert charts <= {p.stem for p in drawn.glob("*.png")}
    assert (later / "longtail.pt").is_file() and not list(later.glob("*.png"))
    assert "the figures of 1 job are saved" in proc.stdout and f"python -m ablab.viz {sweep}" in proc.stdout

    from ablab.viz.draw import draw_deferred  # what python -m ablab.viz runs (its CLI: the test above)

    assert draw_deferred(sweep) == [sweep / "1"]
    for name in charts:  # the same chart; only the footer differs, naming each job (viz.draw=end / later)
        now, saved = (np.asarray(Image.open(d / f"{name}.png")) for d in (drawn, later))
        assert now.shape == saved.shape, name
        above_footer = int(now.shape[0] * 0.92)
        assert (now[:above_footer] == saved[:above_footer]).all(), name
        assert (now[above_footer:] != saved[above_footer:]).any(), name
    run_tb = next((sweep / "1").rglob("events.out.tfevents.*")).parent
    events = EventAccumulator(str(run_tb), size_guidance={"images": 0}).Reload()
    assert {f"figures/{name}" for name in charts} <= set(events.Tags()["images"])
    assert not (later / "longtail.pt").exists() and not (later / "figures.pt").exists()


def test_viz_draw_end_draws_in_a_sweep_and_a_missing_dir_is_one_line(mnist_dir, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "seed=0", *RUN, "viz.draw=end", f"data.root={mnist_dir}", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert FIGURES <= {p.stem for p in (sweep / "0" / "figures").glob("*.png")}
    assert "ablab.viz" not in proc.stdout
    missing = draw_later(tmp_path / "nope")
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0 and "no such directory" in missing.stderr
