"""A run's TensorBoard logger: Lightning's, with the run's display name and no `epoch` chart.

Events go to <run dir>/<display name>/ (ablab.run.names), so `tensorboard --logdir multirun`
lists each job as <date>/<time>/<job>/<what differs>. Lightning adds the epoch number to every
set of logged metrics, which TensorBoard draws as an `epoch` chart before the learning curves;
it is dropped here (`callbacks.lr_monitor.log_epoch=true` logs it again).

TensorBoard orders its chart groups by name. The learning curves (per-epoch loss and accuracy,
train beside val) are written as the group `curves`, so Scalars and Time Series open on them,
before `hp` (each run's final metrics, for HParams), `lr`, `test`, `train` (the per-step loss)
and `val` (the other validation metrics). Lightning, the callbacks and the progress bar keep
the names the module logs (val/acc is what checkpoints monitor).
"""
from pathlib import Path

from pytorch_lightning.loggers import TensorBoardLogger


CURVES = {"train/loss_epoch": "curves/loss_train", "val/loss": "curves/loss_val",
          "train/acc": "curves/acc_train", "val/acc": "curves/acc_val"}


class RunLogger(TensorBoardLogger):
    def __init__(self, run_dir: Path, name: str, label: str = "", **kwargs):
        # name="" and version=name: log_dir is <run dir>/<name>, no tb/ or version_N level.
        super().__init__(save_dir=str(run_dir), name="", version=name, default_hp_metric=False, **kwargs)
        self.display_name = name
        self.label = label or name  # figures' footer: the display name and the dataset
        self.keep_epoch = False  # set by ablab.run.callbacks.LearningRate(log_epoch=true)

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
        if not self.keep_epoch:
            metrics = {k: v for k, v in metrics.items() if k != "epoch"}
        metrics = {CURVES.get(k, k): v for k, v in metrics.items()}
        if metrics:
            super().log_metrics(metrics, step)
