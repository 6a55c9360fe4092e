"""Per-epoch history of a run: the `history` list of results.json, written as the run goes.

One entry per finished training epoch: `epoch`, `train_loss`, `train_acc`, `val_loss`,
`val_acc`, `val_f1_macro` and `lr` (the first param group's learning rate at the epoch's
end). After each entry the run's record (the dict run.py owns and writes at the end) is
rewritten atomically with its status still "running", so a run that fails, diverges or is
killed keeps the epochs it finished.

The entry is appended in `on_train_epoch_end`: Lightning validates inside the training
epoch, so the epoch's validation metrics are known by then, and this (non-monitoring)
callback hook runs before ModelCheckpoint saves last.ckpt. The history is also this
callback's checkpoint state, so a run resumed from last.ckpt carries on with exactly the
epochs that checkpoint had seen, none twice.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import pytorch_lightning as pl
from pytorch_lightning.trainer.states import TrainerFn

from ablab.results import write_json

FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_f1_macro", "lr")
VAL_KEYS = {"val_loss": "val/loss", "val_acc": "val/acc", "val_f1_macro": "val/f1_macro"}


def _number(value: Any) -> Optional[float]:
    if value is None:
        return None
    value = float(value.item() if hasattr(value, "item") else value)
    return value if math.isfinite(value) else None


class History(pl.Callback):
    def __init__(self, record: dict, path: Path):
        self.record, self.path = record, Path(path)
        record["history"] = []
        self._val: dict[str, Optional[float]] = {}
        self._val_epoch: Optional[int] = None  # the epoch whose validation self._val holds
        self._stage: Optional[str] = None

    @property
    def entries(self) -> list[dict]:
        return self.record["history"]

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Only validation inside fit: not the sanity check, nor run.py's final trainer.validate.
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
        epoch = trainer.current_epoch
        val = self._val if self._val_epoch == epoch else dict.fromkeys(VAL_KEYS)  # no validation this epoch
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None
        self.entries.append({"epoch": epoch, "train_loss": _number(train.get("train/loss_epoch")),
                             "train_acc": _number(train.get("train/acc")), **val, "lr": _number(lr)})
        write_json(self.path, self.record)

    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(e) for e in self.entries]}

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._stage = stage  # Lightning calls setup before it restores a checkpoint's callback states

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Only when resuming fit: run.py's final validate and test load best.ckpt too, whose
        # history stops at the best epoch.
        if self._stage == "fit":  # in place: run.py's record and this callback share the one list
            self.entries[:] = [dict(e) for e in state_dict.get("history", [])]
