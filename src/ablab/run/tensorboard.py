"""A run's TensorBoard logger: Lightning's, with the run's display name and no `epoch` chart.

Events go to <run dir>/<display name>/ (ablab.run.names), so `tensorboard --logdir multirun`
lists each job as <date>/<time>/<job>/<what differs>. Lightning adds the epoch number to every
set of logged metrics, which TensorBoard draws as an `epoch` chart before the learning curves;
it is dropped here (`callbacks.lr_monitor.log_epoch=true` logs it again).
"""
from pathlib import Path

from pytorch_lightning.loggers import TensorBoardLogger


class RunLogger(TensorBoardLogger):
    def __init__(self, run_dir: Path, name: str, label: str = "", **kwargs):
        # name="" and version=name: log_dir is <run dir>/<name>, no tb/ or version_N level.
        super().__init__(save_dir=str(run_dir), name="", version=name, default_hp_metric=False, **kwargs)
        self.display_name = name
        self.label = label or name  # figures' footer: the display name and the dataset
        self.keep_epoch = False  # set by ablab.run.callbacks.LearningRate(log_epoch=true)

    def log_metrics(self, metrics, step=None):
        if not self.keep_epoch:
            metrics = {k: v for k, v in metrics.items() if k != "epoch"}
        if metrics:
            super().log_metrics(metrics, step)
