"""The LightningModule and data of a fused group: K members trained as one model.

Each member is a whole `Classifier`, built exactly as its separate run builds it (seeded,
initialised, with its own loss, penalty, preprocessing and metric objects). The fused module
trains their stacked network (`FusedNet`) on the K members' own batches, stacked into one
(`Stacked`): per step, the data loss of each member comes from its own loss object on its own
logits (one call for all when every member's is the same plain cross-entropy), and the sum
over the members is what backward sees, so each member's gradient is exactly its own (no
parameter is shared). Each member's optimizer then steps its slice of the stacks (shared by
members whose settings are equal: `MemberOptimizers`).

Everything a member's run directory receives (history, checkpoints, TensorBoard, results.json)
is written by the member's own callbacks, called by `ablab.fused.members.Members`; this module
only keeps the per-member numbers they ask for, and logs each member's metrics as
`m<k>/<tag>` for the fan-out logger.
"""
from __future__ import annotations

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ablab.data.batch import Batch
from ablab.fused.data import Stacked
from ablab.fused.net import FusedNet
from ablab.fused.optim import MemberOptimizers
from ablab.lit import Classifier, finish_split
from ablab.run.resume.state import EpochSeed


class FusedClassifier(pl.LightningModule):
    def __init__(self, members: list[Classifier], seeds: list[int], share: list | None = None):
        super().__init__()
        self.k = len(members)
        self.members = members  # a plain list: their own parameters are not trained (the stacked ones are)
        self.net = FusedNet([m.model for m in members])
        # The members' losses and metric objects move to the device with this module.
        self.member_parts = torch.nn.ModuleList(
            [torch.nn.ModuleList([m.loss, m.eval_metrics, m.eval_losses]) for m in members])
        self.seeds = list(seeds)
        self.share = share  # members with equal keys share one optimizer (fused.optim)
        self.alive = [True] * self.k  # False: the member diverged and takes no further part
        self.optimizers_ready = None  # set by Members: makes each member's schedule once its optimizer exists
        self.last_losses: torch.Tensor | None = None  # this step's loss of each member (with its penalty)
        self._strengths: torch.Tensor | None = None  # each member's penalty strength, on the device
        # Fixed for the group's life, so decided once here, not per step.
        self._one_cross_entropy = same_plain_cross_entropy([m.loss for m in members])
        self._same_affine = same_affine([m.preprocess for m in members])
        # The members whose evaluation a validate or test pass is for (fused.finish); None: all.
        self.measuring: set[int] | None = None
        self._epoch_sums()

    def _epoch_sums(self) -> None:
        device = self.device
        self._loss_sum = torch.zeros(self.k, device=device)
        self._penalty_sum = torch.zeros(self.k, device=device)
        self._correct = torch.zeros(self.k, dtype=torch.long, device=device)
        self._seen = 0

    # ---- batches ----
    def on_after_batch_transfer(self, batches: list[Batch], dataloader_idx: int) -> Stacked:
        """Each member's batch preprocessed as its run does it, stacked: x [K, B, ...], y [K, B]."""
        training, epoch = self.trainer.training, self.current_epoch
        ys = torch.stack([b.y for b in batches])
        if self._preprocess_once(batches, training):  # one elementwise pass, the same numbers as K
            first = self.members[0].preprocess
            return Stacked.make(first(Batch(torch.stack([b.x for b in batches]), ys)).x, ys)
        done = [m.preprocess(b, training=training, epoch=epoch) for m, b in zip(self.members, batches)]
        return Stacked.make(torch.stack([b.x for b in done]), ys)

    def _preprocess_once(self, batches: list[Batch], training: bool) -> bool:
        """Whether every member's batch takes the same affine map from uint8 (no augmentation)."""
        return self._same_affine[training] and all(b.x.dtype == torch.uint8 and b.is_copy is None for b in batches)

    def forward(self, batch: Stacked) -> torch.Tensor:
        return self.net(batch.x)

    # ---- training ----
    def on_train_epoch_start(self):
        for m in self.members:
            if hasattr(m.loss, "set_epoch"):
                m.loss.set_epoch(self.current_epoch)
        # As each member's EpochSeed seeds torch's global generator for its separate run.
        self.net.reseed([EpochSeed.stream(s, self.current_epoch) for s in self.seeds])
        self._epoch_sums()

    def training_step(self, batch: Stacked, batch_idx):
        logits, ys = self(batch), batch.y
        losses = self._losses(logits, ys)
        n = ys.shape[1]
        self._loss_sum += losses.detach() * n
        self._correct += (logits.detach().argmax(2) == ys).sum(1)
        self._seen += n
        every = self.trainer.log_every_n_steps
        if every and (self.global_step + 1) % every == 0:
            for k in self._alive():
                self.log(f"m{k}/train/loss_step", losses[k], on_step=True, on_epoch=False, batch_size=n)
        penalties = self._penalties()
        if penalties is not None:
            self._penalty_sum += penalties.detach() * n
            losses = losses + penalties
        self.last_losses = losses.detach()
        alive = self._alive()
        return losses[alive].sum() if len(alive) < self.k else losses.sum()

    def _losses(self, logits: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        """Each member's loss from its own loss object; plain cross-entropy, when every member's is
        the same, as one call over all members' rows (each member's mean over its own batch)."""
        if self._one_cross_entropy:
            first = self.members[0].loss
            rows = F.cross_entropy(logits.flatten(0, 1), ys.flatten(), reduction="none",
                                   label_smoothing=first.label_smoothing)
            return rows.view(ys.shape).mean(1)
        return torch.stack([m.loss(logits[k], ys[k]) for k, m in enumerate(self.members)])

    def _alive(self) -> list[int]:
        return [k for k in range(self.k) if self.alive[k]]

    def _penalties(self) -> torch.Tensor | None:
        """Each member's weight penalty (strength × the norm of its weight matrices), or None."""
        if self.members[0].penalty is None:
            return None
        first = self.members[0].penalty
        matrices = [p for p in self.net.parameters() if p.ndim > 2]  # a member's ndim > 1
        norms = sum(torch.vmap(first.norm)(w) for w in matrices)
        if self._strengths is None or self._strengths.device != norms.device:  # made once, not a copy per step
            self._strengths = torch.tensor([m.penalty.strength for m in self.members], device=norms.device)
        return self._strengths * norms

    def train_epoch_means(self, k: int) -> dict:
        if not self._seen:
            return {}
        return {"train/loss_epoch": self._loss_sum[k] / self._seen, "train/acc": self._correct[k] / self._seen}

    def log_epoch_means(self) -> None:
        """Each member's epoch means, as its run logs them at the epoch's end (called by Members,
        before the members' callbacks, which is where their checkpoints look for them)."""
        for k in self._alive():
            means = self.train_epoch_means(k)
            if means:
                self.log(f"m{k}/train/loss_epoch", means["train/loss_epoch"])
                self.log(f"m{k}/train/acc", means["train/acc"])
            if self.members[k].penalty is not None and self._seen:
                self.log(f"m{k}/train/penalty", self._penalty_sum[k] / self._seen)

    # ---- validation and test ----
    # Per batch, one loss call and one running sum for all members; each member's metric objects
    # are updated once per `EVAL_ROWS` rows, not once per batch (K updates of ~0.3 ms each per
    # batch were most of a fused validation). Their states are counts, so the numbers are the
    # same; the loss is the same sum of each batch's mean times its size, in the same order.
    EVAL_ROWS = 16384

    def on_validation_epoch_start(self):
        self._tally = Tally(self.k, self.device)

    def validation_step(self, batch: Stacked, batch_idx):
        self._eval_step(batch, "val")

    def on_validation_epoch_end(self):
        self._eval_end("val")

    def on_test_epoch_start(self):
        self._tally = Tally(self.k, self.device)

    def test_step(self, batch: Stacked, batch_idx):
        return self._eval_step(batch, "test")  # each member's logits, for its figures (Members)

    def on_test_epoch_end(self):
        self._eval_end("test")

    def _eval_step(self, batch: Stacked, split: str) -> torch.Tensor:
        logits, ys = self(batch), batch.y
        self._tally.add(self._losses(logits, ys), logits, ys)
        self._tally.predicted.append((logits.detach().argmax(-1), ys))  # K × B each: every member's classes
        if self._tally.pending_rows >= self.EVAL_ROWS:
            self._tally.count_into([m.eval_metrics[split] for m in self.members])
        return logits

    def _eval_end(self, split: str) -> None:
        """Each measured member's evaluation of the split, published and logged as its run's; the
        others' metric objects are emptied (a member whose last epoch is its best keeps the
        validation its group measured then: fused.finish)."""
        tally = self._tally
        tally.count_into([m.eval_metrics[split] for m in self.members])
        for k, m in enumerate(self.members):
            if self.measuring is not None and k not in self.measuring:
                m.eval_losses[split].reset()
                m.eval_metrics[split].reset()
                continue
            if tally.seen:  # as MeanMetric sums a mean times its weight: one update of the whole
                m.eval_losses[split].update(tally.loss_sum[k] / tally.seen, weight=tally.seen)
            shown, m.evaluated[split] = finish_split(m.eval_losses[split], m.eval_metrics[split])
            if tally.predicted:  # its per-example classes, as its own run records them (run/predictions.py)
                m.predicted[split] = tuple(torch.cat([t[k] for t in part]).cpu() for part in zip(*tally.predicted))
            if self.alive[k]:
                self.log_dict({f"m{k}/{split}/{name}": v for name, v in shown.items()})

    # ---- the fused step ----
    def configure_optimizers(self):
        # Here, after Lightning has moved the stacks to the device: the members' optimizers hold views of them.
        optimizer = MemberOptimizers(list(self.net.parameters()), [m.optimizer_factory for m in self.members],
                                     self.share)
        self.optimizers_ready(optimizer, self.trainer)
        return optimizer


def same_plain_cross_entropy(losses: list) -> bool:
    """Every loss is nn.CrossEntropyLoss with a mean over its batch, no class weights and the same
    label smoothing (labels are class indices, so its ignore_index, -100, ignores nothing)."""
    first = losses[0]
    return all(type(loss) is torch.nn.CrossEntropyLoss and loss.weight is None and loss.reduction == "mean"
               and loss.ignore_index < 0 and loss.label_smoothing == first.label_smoothing for loss in losses)


def same_affine(preprocessing: list) -> dict[bool, bool]:
    """By training or not: whether every member maps uint8 to floats with the same mean and std,
    with no augmentation (a member's preprocessing is None until its run's setup takes its data's)."""
    first = preprocessing[0]
    same = first is not None and all(p is not None and (p.mean, p.std) == (first.mean, first.std)
                                     for p in preprocessing)
    return {False: same, True: same and all(p.augment is None for p in preprocessing)}


class Tally:
    """A validation or test pass of K members so far: each member's sum of its batches' mean
    losses times their sizes, and the logits and labels not yet counted by its metric objects."""

    def __init__(self, k: int, device):
        self.loss_sum = torch.zeros(k, device=device)
        self.seen = 0
        self.pending: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.pending_rows = 0
        self.predicted: list[tuple[torch.Tensor, torch.Tensor]] = []  # (argmax, labels) per batch, K × B

    def add(self, losses: torch.Tensor, logits: torch.Tensor, ys: torch.Tensor) -> None:
        n = ys.shape[1]
        self.loss_sum += losses * n
        self.seen += n
        self.pending.append((logits, ys))
        self.pending_rows += n

    def count_into(self, metrics: list) -> None:
        """Each member's pending rows into its metric objects, one update each."""
        if not self.pending:
            return
        logits = torch.cat([lg for lg, _ in self.pending], dim=1)
        ys = torch.cat([y for _, y in self.pending], dim=1)
        for k, metric in enumerate(metrics):
            metric.update(logits[k], ys[k])
        self.pending, self.pending_rows = [], 0
