"""Draw a run's figures from its figure data (ablab.viz.figure_data) into figures/*.png and
TensorBoard images: at the end of test, or later for runs that saved their figure data.

Two callbacks may save instead of drawing (ablab.viz.deferral): the Figures callback
(figures/figures.pt) and, on long-tailed data, the long-tail report (figures/longtail.pt).
`draw_deferred` draws both kinds.
"""
from pathlib import Path

import torch

from ablab.viz.deferral import DEFERRED, DEFERRED_LONGTAIL, waiting
from ablab.viz.png import add_png, footer, save_png

def draw(data: dict) -> dict:
    """name -> matplotlib Figure."""
    from ablab.viz.charts import confusion_matrix_figure, per_class_accuracy_figure
    from ablab.viz.run_curves import curves_figure
    from ablab.viz.images import prediction_grid, sample_grid
    from ablab.viz.weights import first_layer_figure

    classes, cm = data["classes"], data["confusion_matrix"]
    figs = {
        "train_samples": sample_grid(data["train_images"], data["train_labels"], classes),
        "confusion_matrix": confusion_matrix_figure(cm, classes),
        "confusion_matrix_normalized": confusion_matrix_figure(cm, classes, normalize=True),
        "per_class_accuracy": per_class_accuracy_figure(data["per_class_acc"], classes),
    }
    if (s := data["test_samples"]) is not None:
        figs["test_predictions"] = prediction_grid(s["images"], s["pred"], s["true"], classes,
                                                   title="test predictions, classes in turn (wrong in red)")
    if (m := data["mistakes"]) is not None:
        figs["confident_mistakes"] = prediction_grid(m["images"], m["pred"], m["true"], classes, m["conf"],
                                                     title="most confident mistakes (probability)")
    if (layer := data["first_layer"]) is not None:
        figs["first_layer_weights"] = first_layer_figure(layer["kind"], layer["weight"], data["input_shape"],
                                                         data["n_kernels"])
    if data["history"]:  # the run's learning curves, from results.json's history
        figs["curves"] = curves_figure(data["history"])
    return figs


def publish(data: dict, out: Path, writer=None) -> list[str]:
    """Draw into `out`/<name>.png and, given a SummaryWriter, TensorBoard images; the names drawn."""
    figures = draw(data)
    for name, fig in figures.items():
        if data.get("label"):
            footer(fig, data["label"])
        png = save_png(fig, out / f"{name}.png")
        if writer is not None:
            add_png(writer, f"figures/{name}", png, data["step"])
    if writer is not None:
        writer.flush()
    return list(figures)


def draw_deferred(root: Path) -> list[Path]:
    """Draw every run below `root` (a run or a sweep dir) whose figures were saved for later,
    into its figures/ and its own TensorBoard run; the run directories drawn."""
    drawn = waiting(root)
    for run_dir in drawn:
        draw_run(run_dir)
    return drawn


def draw_run(run_dir: Path) -> Path:
    """Draw one run's saved figure data (figures.pt, longtail.pt), then remove it."""
    from torch.utils.tensorboard import SummaryWriter

    from ablab.viz.longtail_report import publish_longtail

    drawers = {DEFERRED: publish, DEFERRED_LONGTAIL: publish_longtail}
    for name, drawer in drawers.items():
        saved = Path(run_dir) / "figures" / name
        if not saved.is_file():
            continue
        data = torch.load(saved, weights_only=True, map_location="cpu")
        writer = SummaryWriter(str(run_dir / data["tensorboard"])) if data.get("tensorboard") else None
        try:
            drawer(data, saved.parent, writer)
        finally:
            if writer is not None:
                writer.close()
        saved.unlink()  # drawn: the PNGs are the figures now
    return Path(run_dir)


def draw_in_parallel(run_dirs: list[Path], workers: int) -> None:
    """Draw the runs with `workers` cores: this process draws its share while `workers - 1` new
    processes, each `python -m ablab.viz` on its share, draw theirs (matplotlib draws on one
    core: about 4 s a run on a 2-core CPU; a new process first pays ~3 s of imports, so a few
    runs are drawn here alone). New processes, not forks: a fork of a process that has trained
    holds torch's and logging's locks as they were and waited on them for ever."""
    import subprocess
    import sys

    workers = max(1, min(workers, len(run_dirs) // 2))  # a helper process pays off from two runs of its own
    shares = [run_dirs[i::workers] for i in range(workers)]
    procs = [subprocess.Popen([sys.executable, "-m", "ablab.viz", *map(str, share)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for share in shares[1:]]
    for run_dir in shares[0]:
        draw_run(run_dir)
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"drawing figures failed: {err.strip().splitlines()[-1] if err.strip() else proc.returncode}")
