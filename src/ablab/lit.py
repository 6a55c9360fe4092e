"""The LightningModule: preprocessing, one shared step, loss plus penalty, torchmetrics,
optimizer wiring.

Nothing about plotting or results files lives here. Each split's last evaluation is
published whole, as an `Evaluation`, in `self.evaluated[split]`, for whoever reads it
(the results writer, the figures, the long-tail report).
"""
from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from ablab.data.batch import Batch
from ablab.data.preprocess import Preprocess
from ablab.factors.schedule import Schedule
from ablab.metrics.evaluation import Evaluation


SAME_AS_ACCURACY = ("precision_micro", "recall_micro", "f1_micro")  # for one label per image


def split_metrics(num_classes: int) -> MetricCollection:
    k = num_classes
    return MetricCollection({
        "acc": MulticlassAccuracy(k, average="micro"),
        "precision_micro": MulticlassPrecision(k, average="micro"),
        "precision_macro": MulticlassPrecision(k, average="macro"),
        "recall_micro": MulticlassRecall(k, average="micro"),
        "recall_macro": MulticlassRecall(k, average="macro"),
        "f1_micro": MulticlassF1Score(k, average="micro"),
        "f1_macro": MulticlassF1Score(k, average="macro"),
        # Recall per class is the accuracy on that class's images.
        "per_class_acc": MulticlassAccuracy(k, average=None),
        "confusion_matrix": MulticlassConfusionMatrix(k),
    })


def finish_split(losses: MeanMetric, metrics: MetricCollection) -> tuple[dict, Evaluation]:
    """One split's evaluation from its metric objects (which it resets): the scalars TensorBoard
    shows, and the whole `Evaluation`."""
    values = {"loss": losses.compute(), **metrics.compute()}
    losses.reset()
    metrics.reset()
    scalars = {k: v for k, v in values.items() if v.ndim == 0}
    # Micro precision, recall and F1 equal accuracy for single-label classification (each
    # wrong prediction is one false positive and one false negative): results.json keeps
    # them, TensorBoard shows accuracy once.
    shown = {k: v for k, v in scalars.items() if k not in SAME_AS_ACCURACY}
    evaluation = Evaluation(
        scalars={k: float(v) for k, v in scalars.items()},
        per_class_acc=[round(float(a), 6) for a in values["per_class_acc"]],
        confusion_matrix=values["confusion_matrix"].cpu(),
    )
    return shown, evaluation


class Classifier(pl.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        loss: nn.Module,
        optimizer: Callable,
        schedule: Schedule | None,
        num_classes: int,
        penalty: Callable | None = None,
        preprocess: Preprocess | None = None,
        checkpoint_meta: dict | None = None,
    ):
        super().__init__()
        self.model, self.loss, self.penalty = model, loss, penalty
        self.optimizer_factory, self.schedule = optimizer, schedule or Schedule()  # None: a constant lr
        self.eval_metrics = nn.ModuleDict({s: split_metrics(num_classes) for s in ("val", "test")})
        self.eval_losses = nn.ModuleDict({s: MeanMetric() for s in ("val", "test")})
        self.preprocess = preprocess  # None: the datamodule's, taken in setup
        self.checkpoint_meta = checkpoint_meta or {}  # the run's config and overrides, for eval and predict
        self.evaluated: dict[str, Evaluation] = {}
        # Each split's predicted class and label per example, in the loader's order (run/predictions.py).
        self.predicted: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._predicting: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {"val": [], "test": []}
        # This epoch's training loss sum and correct predictions, on the device, and images seen.
        self._loss_sum, self._correct, self._seen = torch.zeros(()), torch.zeros((), dtype=torch.long), 0

    def forward(self, x):
        return self.model(x)

    def setup(self, stage: str) -> None:
        if self.preprocess is None:
            self.preprocess = self.trainer.datamodule.preprocess

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        # The one place a batch becomes the network's input, on the device.
        return self.preprocess(batch, training=self.trainer.training, epoch=self.current_epoch)

    def on_train_epoch_start(self):
        if hasattr(self.loss, "set_epoch"):  # deferred re-weighting switches on an epoch
            self.loss.set_epoch(self.current_epoch)
        self._loss_sum, self._seen = torch.zeros((), device=self.device), 0
        self._correct = torch.zeros((), dtype=torch.long, device=self.device)

    def training_step(self, batch: Batch, batch_idx):
        x, y = batch.x, batch.y
        logits = self.model(x)
        loss = self.loss(logits, y)
        # Lightning's per-step self.log costs more than a small model's step on a CPU, and a
        # progress-bar value is turned into a Python number (a device sync) every step. So the
        # epoch mean is summed here on the device, and the step value is logged only on the
        # steps that reach the logger (every trainer.log_every_n_steps). Training accuracy is a
        # count of correct predictions on the device too: a torchmetrics update per step cost
        # ~0.15 ms of Python, a small model's step is a few ms.
        self._loss_sum += loss.detach() * len(y)
        self._correct += (logits.detach().argmax(1) == y).sum()
        self._seen += len(y)
        every = self.trainer.log_every_n_steps
        if every and (self.global_step + 1) % every == 0:
            self.log("train/loss_step", loss, on_step=True, on_epoch=False, batch_size=len(y))
        if self.penalty is not None:
            penalty = self.penalty(self.model)
            self.log("train/penalty", penalty, on_step=False, on_epoch=True, batch_size=len(y))
            loss = loss + penalty
        return loss

    def train_epoch_means(self) -> dict:
        """This epoch's training loss and accuracy (also asked for by the results writer,
        whose epoch-end hook runs before this module's)."""
        if not self._seen:
            return {}
        # Accuracy over every rank's images (a collective: every DDP rank calls this); the loss
        # is this rank's mean, as Lightning logs it without sync_dist.
        counts = torch.stack([self._correct, torch.tensor(self._seen, device=self._correct.device)])
        correct, seen = self.trainer.strategy.reduce(counts, reduce_op="sum") if self.trainer.world_size > 1 else counts
        return {"train/loss_epoch": self._loss_sum / self._seen, "train/acc": correct / seen}

    def on_train_epoch_end(self):
        means = self.train_epoch_means()
        if means:
            self.log("train/loss_epoch", means["train/loss_epoch"], prog_bar=True)
            self.log("train/acc", means["train/acc"])

    def _eval_step(self, batch: Batch, split: str):
        x, y = batch.x, batch.y
        logits = self.model(x)
        self.eval_losses[split].update(self.loss(logits, y), weight=len(y))
        self.eval_metrics[split].update(logits, y)
        self._predicting[split].append((logits.detach().argmax(1), y))  # on the device until the pass ends
        return logits

    def validation_step(self, batch, batch_idx):
        self._eval_step(batch, "val")

    def test_step(self, batch, batch_idx):
        return self._eval_step(batch, "test")  # logits, for the figures callback

    def _finish(self, split: str):
        shown, self.evaluated[split] = finish_split(self.eval_losses[split], self.eval_metrics[split])
        got, self._predicting[split] = self._predicting[split], []
        if got:
            self.predicted[split] = (torch.cat([p for p, _ in got]).cpu(), torch.cat([y for _, y in got]).cpu())
        self.log_dict({f"{split}/{k}": v for k, v in shown.items()}, prog_bar=split == "val")

    def on_validation_epoch_end(self):
        self._finish("val")

    def on_test_epoch_end(self):
        self._finish("test")

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        scheduler = self.schedule.lightning_config(optimizer, self.trainer)
        return optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}

    def on_save_checkpoint(self, checkpoint):
        # Plain data only, so eval/predict can load with weights_only=True and rebuild the run.
        checkpoint["ablab"] = {**self.checkpoint_meta, "preprocess": self.preprocess.to_dict()}
