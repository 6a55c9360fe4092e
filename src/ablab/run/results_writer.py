"""The one writer of a run's results.json (the run-directory contract in DESIGN.md).

run/train.py opens it with what is known before training (overrides, seed, class counts,
parameters, resume) and ends it with how the run ended (`end`). In between, as a
Lightning callback, it
- appends one `history` entry per finished training epoch: `epoch`, `train_loss`,
  `train_acc`, `val_loss`, `val_acc`, `val_f1_macro`, `lr` (the first param group's rate
  that the epoch's last training step used: TensorBoard's `lr` chart at that step), and
  rewrites the file atomically with status "running", so a run that fails, diverges or is killed keeps the epochs it finished;
- at the start of fit, notes the `device` the run trains on ("cpu", "cuda:2": the
  machine's GPU number, so a sweep over several GPUs shows which job ran where);
- after test, takes each split's metrics from the module's `evaluated` (what the metric
  objects returned), with shot-group accuracy for long-tailed data.
Nothing else writes the record; the figures read its history.

The history entry is made in `on_train_epoch_end`: Lightning validates inside the training
epoch, so the epoch's validation metrics are known by then, and this (non-monitoring)
callback hook runs before ModelCheckpoint saves last.ckpt. The history is also this
callback's checkpoint state, so a run resumed from last.ckpt carries on with exactly the
epochs that checkpoint had seen, none twice. Epochs count from 1 (the first epoch is epoch 1),
as `best_epoch`, the run's summary, the curves and the reports do.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import pytorch_lightning as pl
from pytorch_lightning.trainer.states import TrainerFn

from ablab.run.devices import trained_on
from ablab.run.results import split_record, write_json
from ablab.run.resume.state import RunState

FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_f1_macro", "lr")
VAL_KEYS = {"val_loss": "val/loss", "val_acc": "val/acc", "val_f1_macro": "val/f1_macro"}


def _number(value: Any) -> Optional[float]:
    if value is None:
        return None
    value = float(value.item() if hasattr(value, "item") else value)
    return value if math.isfinite(value) else None


class ResultsWriter(RunState):
    def __init__(self, path: Path, **fields):
        self.path = Path(path)
        self._record: dict = {"status": "running", "error": None, **fields, "history": []}
        self._val: dict[str, Optional[float]] = {}
        self._val_epoch: Optional[int] = None  # the epoch whose validation self._val holds
        self._lr: Optional[float] = None  # the rate the latest training step used

    @property
    def record(self) -> dict:
        """What results.json holds (read it; change it through `note` and `end`)."""
        return self._record

    @property
    def history(self) -> list[dict]:
        return self._record["history"]

    def note(self, **fields) -> None:
        """Facts of the run known to run/train.py (class counts, parameters, resume, how it ended)."""
        self._record.update(fields)

    def end(self, status: str, error: str | None = None, **fields) -> None:
        self.note(status=status, error=error, **fields)

    def write(self) -> None:
        write_json(self.path, self._record)

    # ---- the per-epoch history ----
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.note(device=trained_on(trainer))

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx) -> None:
        # The rate this step uses: at the epoch's end a per-step schedule has already moved on
        # to the next step's (one-cycle's last epoch read 3e-7, a rate no step used).
        if trainer.optimizers:
            self._lr = trainer.optimizers[0].param_groups[0]["lr"]

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Only validation inside fit: not the sanity check, nor run/train.py's final trainer.validate.
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        metrics = trainer.callback_metrics
        self._val = {name: _number(metrics.get(key)) for name, key in VAL_KEYS.items()}
        self._val_epoch = trainer.current_epoch

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The module logs its epoch means after this hook, so ask it for them; every DDP
        # rank must compute them (a metric's compute() is collective), only rank zero writes.
        train = pl_module.train_epoch_means() if hasattr(pl_module, "train_epoch_means") else {}
        if not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch + 1  # people count epochs from 1; Lightning from 0
        val = self._val if self._val_epoch == trainer.current_epoch else dict.fromkeys(VAL_KEYS)  # no validation this epoch
        lr = self._lr
        self.history.append({"epoch": epoch, "train_loss": _number(train.get("train/loss_epoch")),
                             "train_acc": _number(train.get("train/acc")), **val, "lr": _number(lr)})
        self.write()

    # ---- the final metrics ----
    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.final(pl_module.evaluated, trainer.datamodule)

    def final(self, evaluated: dict, datamodule) -> None:
        """Each split's metrics, from the evaluations of the run's best epoch (a fused member's
        finish hands over those its group measured: ablab.fused.finish)."""
        for split in ("val", "test"):
            if split in evaluated:
                self._record[split] = split_record(evaluated[split], datamodule)

    # ---- resuming ----
    @property
    def state_key(self) -> str:
        return "History"  # the name its state had in checkpoints before this writer took the history in

    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(e) for e in self.history]}

    def restore(self, state_dict: dict[str, Any]) -> None:
        # Only when resuming fit (RunState): the final validate and test load best.ckpt too, whose
        # history stops at the best epoch.
        self.history[:] = [dict(e) for e in state_dict.get("history", [])]
