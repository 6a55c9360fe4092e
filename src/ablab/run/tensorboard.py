"""A run's TensorBoard logger: Lightning's, with the run's display name, no `epoch` chart and
the per-epoch charts drawn over epochs.

Events go to <run dir>/<display name>/ (ablab.run.names), so `tensorboard --logdir multirun`
lists each job as <date>/<time>/<job>/<name>. Lightning adds the epoch number to every set of
logged metrics, which TensorBoard draws as an `epoch` chart before the learning curves; it is
dropped here (`callbacks.lr_monitor.log_epoch=true` logs it again).

What is measured once an epoch (the learning curves, the other validation metrics) is written
at step = the epoch, counted from 1, so runs with other batch sizes or dataset sizes line up
epoch by epoch, as in figures/curves.png and a report's curves; what is measured per step
(`lr`, `train/loss_step`) stays over training steps. A validation after fit (the best epoch
validated again) is not an epoch's point: its values are the final `~hp/val_*`.

TensorBoard orders its chart groups by name (a character compare, `~` after every letter) and
opens the first two. The learning curves (per-epoch loss and accuracy, train beside val) are
the group `curves`, so Scalars and Time Series open on them and on `lr`; then `test`, `train`
(the per-step loss), `val` (the other validation metrics), `weights` (histograms, with
`viz.every_n_epochs_histograms`) and last `~hp`, each run's final metrics, one point each,
which the HParams dashboard shows beside the configuration. Lightning, the callbacks and the
progress bar keep the names the module logs (val/acc is what checkpoints monitor).
"""
from pathlib import Path

from pytorch_lightning.loggers import TensorBoardLogger


CURVES = {"train/loss_epoch": "curves/loss_train", "val/loss": "curves/loss_val",
          "train/acc": "curves/acc_train", "val/acc": "curves/acc_val"}
PER_EPOCH = ("curves/", "val/", "train/penalty")  # tags written at step = epoch (from 1)


class RunLogger(TensorBoardLogger):
    def __init__(self, run_dir: Path, name: str, label: str = "", **kwargs):
        # name="" and version=name: log_dir is <run dir>/<name>, no tb/ or version_N level.
        super().__init__(save_dir=str(run_dir), name="", version=name, default_hp_metric=False, **kwargs)
        self.display_name = name
        self.label = label or name  # figures' footer: the display name and the dataset
        self.keep_epoch = False  # set by ablab.run.callbacks.LearningRate(log_epoch=true)
        self.fitting = True  # set by ablab.run.callbacks.LearningRate at each stage's setup

    def finalize(self, status: str) -> None:
        # Lightning finalizes the logger when fit ends and again when test ends; closing the writer
        # there made each run write three event files in the same second, and TensorBoard reads a
        # directory's files in name order, where a process's 10th writer sorts before its 9th: the
        # run's test and hp/ points were then dropped as "out of order". A successful part only
        # flushes; the run closes its logger once, at its end (`close`); a failure closes it here.
        if status == "success":
            self.save()
            if self._experiment is not None:
                self._experiment.flush()
        else:
            super().finalize(status)

    def close(self) -> None:
        """The end of the run: everything written, the event file closed."""
        super().finalize("success")

    def log_metrics(self, metrics, step=None):
        epoch = metrics.get("epoch")
        if not self.keep_epoch:
            metrics = {k: v for k, v in metrics.items() if k != "epoch"}
        metrics = {CURVES.get(k, k): v for k, v in metrics.items()}
        per_epoch = {k: v for k, v in metrics.items() if k.startswith(PER_EPOCH)}
        if per_epoch and epoch is not None:
            if self.fitting:
                super().log_metrics(per_epoch, int(epoch) + 1)
            metrics = {k: v for k, v in metrics.items() if k not in per_epoch}
        if metrics:
            super().log_metrics(metrics, step)
