"""Lightning callback that makes a run's figures without slowing training.

Histograms of every weight and bias go to TensorBoard at train epoch end; everything else
is drawn once, at the end of test, into TensorBoard images and <run dir>/figures/*.png,
among them curves.png, the learning curves from the run's results writer's history.
`draw`: "end" draws then; "later" saves the figure data (figures/figures.pt, tens of
milliseconds instead of about a second of matplotlib) for `python -m ablab.viz DIR`;
"auto", the default, is "end" for a single run and "later" for the jobs of a -m sweep.

Contract with the core (lit.py / data):
- `test_step` returns the logits (N, K); the test batch is `(x, y, ...)` with x normalised;
- `trainer.datamodule` has `train_images(indices)` (uint8 (n, C, H, W), in memory or
  streamed) and `train_y` (int (N,));
- `pl_module.model` is the network; `pl_module.preprocess` has `classes`, `input_shape` and
  `denormalize(x)`, which maps the network's input back to [0, 1]; after test
  `pl_module.evaluated["test"]` may hold the split's `Evaluation` (confusion matrix,
  per-class accuracy). When it does not, both are computed from the predictions collected here.
"""
import math
from pathlib import Path

import torch
from pytorch_lightning import Callback, LightningModule, Trainer

from ablab.data.ranks import classes_in_turn, rank_within_class
from ablab.viz.deferral import DEFERRED, drawn_later, save_for_later
from ablab.viz.draw import publish
from ablab.viz.figure_data import collect
from ablab.viz.png import tensorboard_writer


class Figures(Callback):
    def __init__(
        self,
        every_n_epochs_histograms: int = 0,
        n_samples: int = 64,
        n_mistakes: int = 32,
        n_kernels: int = 64,
        draw: str = "auto",
    ):
        self.every_n_epochs_histograms = every_n_epochs_histograms
        self.n_samples = n_samples
        self.n_mistakes = n_mistakes
        self.n_kernels = n_kernels
        self.draw = draw  # end: at the end of test; later: figures.pt for ablab.viz; auto: later in a -m sweep
        self._reset()

    def _reset(self):
        self._pred, self._true, self._conf = [], [], []
        # Test images for the prediction grid, in [0, 1], with their predicted and true classes:
        # the first ceil(n_samples / K) of each class, so class-ordered test sets show every class.
        self._samples: list[torch.Tensor] = []
        self._sample_pred: list[torch.Tensor] = []
        self._sample_true: list[torch.Tensor] = []
        self._per_class: torch.Tensor | None = None  # test images kept so far, per class
        # Running top-k of wrong predictions by confidence: images, conf, pred, true.
        self._mistakes: tuple[torch.Tensor, ...] | None = None

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        n = self.every_n_epochs_histograms
        if writer is None or n <= 0 or (trainer.current_epoch + 1) % n:
            return
        model = getattr(pl_module, "model", pl_module)
        # global_step, like Lightning's own scalars, so histograms line up with the curves.
        for name, p in model.named_parameters():
            writer.add_histogram(f"weights/{name}", p.detach().float().cpu(), trainer.global_step)

    def on_test_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._reset()

    @torch.no_grad()
    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if dataloader_idx != 0:
            return  # figures describe the (first) test set only
        x, y = batch[0], batch[1]
        conf, pred = outputs.detach().float().softmax(1).max(1)
        self._pred.append(pred.cpu())
        self._true.append(y.cpu())
        self._conf.append(conf.cpu())
        denorm = pl_module.preprocess.denormalize
        pick = self._sample_picks(y.cpu(), len(pl_module.preprocess.classes))
        if len(pick):
            on_device = pick.to(y.device)
            self._samples.append(denorm(x[on_device]).cpu())
            self._sample_pred.append(pred[on_device].cpu())
            self._sample_true.append(y[on_device].cpu())
        wrong = (pred != y).nonzero().flatten()
        if self.n_mistakes > 0 and len(wrong):
            # Only this batch's own top-k can enter the running top-k: denormalise just those.
            top = wrong[conf[wrong].topk(min(self.n_mistakes, len(wrong))).indices]
            new = (denorm(x[top]).cpu(), conf[top].cpu(), pred[top].cpu(), y[top].cpu())
            if self._mistakes is not None:
                new = tuple(torch.cat([a, b]) for a, b in zip(self._mistakes, new))
            keep = new[1].topk(min(self.n_mistakes, len(new[1]))).indices
            self._mistakes = tuple(t[keep] for t in new)

    def _sample_picks(self, y: torch.Tensor, k: int) -> torch.Tensor:
        """Indices of this batch's images that still fit in their class's share of the grid."""
        quota = math.ceil(self.n_samples / k)
        if self._per_class is None:
            self._per_class = torch.zeros(k, dtype=torch.long)
        if bool((self._per_class >= quota).all()):
            return y.new_zeros(0)
        y = y.long()
        pick = ((rank_within_class(y) + self._per_class[y]) < quota).nonzero().flatten()
        self._per_class += torch.bincount(y[pick], minlength=k)
        return pick

    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.is_global_zero or not self._pred:
            return
        data = self.figure_data(trainer, pl_module)
        out = Path(trainer.default_root_dir) / "figures"
        writer = tensorboard_writer(trainer)
        if drawn_later(self.draw):  # a sweep's job: the data now (milliseconds), the drawing on demand
            save_for_later(data, out / DEFERRED, trainer, writer)
            return
        publish(data, out, writer)

    def figure_data(self, trainer: Trainer, pl_module: LightningModule) -> dict:
        dm, preprocess = trainer.datamodule, pl_module.preprocess
        k = len(preprocess.classes)
        evaluation = getattr(pl_module, "evaluated", {}).get("test")
        if evaluation is not None:
            cm, acc = evaluation.confusion_matrix, evaluation.per_class_acc
        else:
            pred, true = torch.cat(self._pred), torch.cat(self._true)
            cm = torch.bincount(true * k + pred, minlength=k * k).view(k, k)
            acc = (cm.float().diag() / cm.float().sum(1).clamp_min(1)).tolist()
        samples = None
        if self._samples:  # the grid's share: classes in turn, n_samples in all
            images, pred, true = (torch.cat(t) for t in (self._samples, self._sample_pred, self._sample_true))
            shown = classes_in_turn(true, self.n_samples, k)
            self._samples, self._sample_pred, self._sample_true = [images[shown]], [pred[shown]], [true[shown]]
            samples = (images[shown], pred[shown], true[shown])
        # The run's per-epoch history, kept by the results writer (ablab.run.results_writer);
        # found by its attribute, so the figures need nothing from the run layer above them.
        history = next((c.history for c in trainer.callbacks if isinstance(getattr(c, "history", None), list)), [])
        return collect(classes=preprocess.classes, input_shape=preprocess.input_shape, train_labels=dm.train_y,
                       train_images=dm.train_images, confusion_matrix=cm, per_class_acc=acc, test_samples=samples,
                       mistakes=self._mistakes, model=getattr(pl_module, "model", pl_module),
                       history=history, n_samples=self.n_samples,
                       n_kernels=self.n_kernels, step=trainer.global_step,
                       label=getattr(trainer.logger, "label", "") or "")
