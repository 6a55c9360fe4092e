"""Classification losses that torch does not ship: `forward(logits, target) -> mean`.

Cross-entropy (with label smoothing) and the multi-class hinge come straight from
torch.nn in conf/loss; this file holds the rest. A loss that needs the training
class counts takes `class_counts` in __init__; its YAML says `class_counts: null`
and the core fills it in when it builds the loss from the reshaped training split.

Per-class weights follow torch's convention for `CrossEntropyLoss(weight=)`: the
batch loss is sum_i w_{y_i} l_i / sum_i w_{y_i} (the weighted mean Cao et al.'s DRW
code uses). Cui et al. divide by the batch size instead, a per-batch rescaling.
"""
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _counts(class_counts, who: str) -> torch.Tensor:
    if class_counts is None:
        raise ValueError(f"loss {who} needs class_counts (the core fills them from the training split)")
    # Hydra hands lists over as ListConfig; list() turns them into plain ints first.
    raw = class_counts if isinstance(class_counts, torch.Tensor) else list(class_counts)
    counts = torch.as_tensor(raw, dtype=torch.float64)
    if counts.ndim != 1 or (counts < 0).any():
        raise ValueError(f"loss {who}: class_counts must be a list of non-negative counts, got {raw}")
    return counts


def class_balanced_weights(class_counts: Sequence[int], beta: float) -> torch.Tensor:
    """Cui et al. 2019: w_c = (1 - beta) / (1 - beta^n_c), scaled so the classes' weights sum to C.

    beta = 0 gives equal weights, beta -> 1 inverse class frequency. A class with no
    training images gets weight 0 (it never occurs as a target).
    """
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"class-balanced beta={beta} must be in [0, 1]")
    n = _counts(class_counts, "class_balanced_weights")
    # Effective number of samples E_n = (1 - beta^n) / (1 - beta); its limit at beta = 1 is n.
    effective = n if beta == 1.0 else (1.0 - beta**n) / (1.0 - beta)
    w = torch.where(n > 0, 1.0 / effective.clamp_min(1e-12), torch.zeros_like(n))
    return (w * len(n) / w.sum()).to(torch.float32)


def focal_terms(logits, target, gamma: float) -> torch.Tensor:
    """Per-sample multi-class focal loss (Lin et al. 2017): -(1 - p_t)^gamma log p_t."""
    logp_t = F.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    # 1 - p_t via expm1 stays accurate near p_t = 1; the clamp keeps gamma < 1 from
    # sending an infinite gradient through 0 ** gamma when p_t rounds to exactly 1.
    return -((-torch.expm1(logp_t)).clamp_min(1e-12) ** gamma) * logp_t


def weighted_mean(terms, target, weight: torch.Tensor | None) -> torch.Tensor:
    """sum_i w_{y_i} l_i / sum_i w_{y_i}; plain mean without weights."""
    if weight is None:
        return terms.mean()
    w = weight.to(terms.dtype)[target]
    # A batch made only of classes with no training images (weight 0) gives 0, not NaN.
    return (w * terms).sum() / w.sum().clamp_min(1e-12)


def _loss(logits, target, weight, base: str, gamma: float) -> torch.Tensor:
    if base == "ce":
        terms = F.cross_entropy(logits, target, reduction="none")
    else:
        terms = focal_terms(logits, target, gamma)
    return weighted_mean(terms, target, weight)


def _check_base(base: str) -> str:
    if base not in ("ce", "focal"):
        raise ValueError(f"loss base={base!r} is not one of ce, focal")
    return base


class SoftmaxMSE(nn.Module):
    """Squared error between softmax probabilities and the one-hot target.

    Summed over classes, averaged over the batch (the Brier score), so the scale does
    not shrink as the number of classes grows.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(target, logits.shape[1]).to(logits.dtype)
        return (F.softmax(logits, dim=1) - onehot).pow(2).sum(1).mean()


class FocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017); gamma = 0 is cross-entropy. Optional per-class `weight`."""

    def __init__(self, gamma: float = 2.0, weight: Sequence[float] | None = None):
        super().__init__()
        self.gamma = float(gamma)
        w = None if weight is None else torch.as_tensor(list(weight), dtype=torch.float32)
        self.register_buffer("weight", w, persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return weighted_mean(focal_terms(logits, target, self.gamma), target, self.weight)


class ClassBalancedLoss(nn.Module):
    """Class-balanced loss (Cui et al. 2019): CE or focal weighted by inverse effective number."""

    def __init__(self, class_counts=None, beta: float = 0.9999, base: str = "ce", gamma: float = 2.0):
        super().__init__()
        self.base, self.gamma, self.beta = _check_base(base), float(gamma), float(beta)
        self.register_buffer("weight", class_balanced_weights(class_counts, beta), persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return _loss(logits, target, self.weight, self.base, self.gamma)


class BalancedSoftmax(nn.Module):
    """Balanced softmax (Ren et al. 2020): cross-entropy on logits + log prior_c.

    Training against the long-tailed prior lets the raw logits model the balanced
    posterior, so evaluation uses plain argmax of the logits.
    """

    def __init__(self, class_counts=None):
        super().__init__()
        n = _counts(class_counts, "BalancedSoftmax")
        # A class with no training images would get log 0 = -inf; count it as one image.
        log_prior = torch.log(n.clamp_min(1.0) / n.clamp_min(1.0).sum())
        self.register_buffer("log_prior", log_prior.to(torch.float32), persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits + self.log_prior.to(logits.dtype), target)


class DeferredReweighting(ClassBalancedLoss):
    """Deferred re-weighting (Cao et al. 2019, DRW): plain loss, then class-balanced from `start_epoch`.

    The LightningModule calls `set_epoch(current_epoch)` at every training epoch start;
    epochs count from 0, so weights apply from epoch `start_epoch` on (Cao: 160 of 200).
    """

    def __init__(self, class_counts=None, start_epoch: int = 160, beta: float = 0.9999,
                 base: str = "ce", gamma: float = 2.0):
        super().__init__(class_counts, beta, base, gamma)
        if start_epoch < 0:
            raise ValueError(f"DRW start_epoch={start_epoch} must be >= 0")
        self.start_epoch = int(start_epoch)
        self.reweighting = self.start_epoch == 0

    def set_epoch(self, epoch: int) -> None:
        self.reweighting = epoch >= self.start_epoch

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        weight = self.weight if self.reweighting else None
        return _loss(logits, target, weight, self.base, self.gamma)
