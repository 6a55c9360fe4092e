"""Weight penalties, added to the data loss and logged apart from it as train/penalty.

The config group keeps the name a user looks for, `regularizer=l1|l2`; in code the thing
is a penalty (`Penalty`, `build.penalty`, `Classifier(penalty=...)`) everywhere.

Only weight matrices and kernels are penalised (tensors with more than one dimension):
biases and norm scales are left alone, as usual. Weight decay inside the optimizer is a
different factor and stays an optimizer parameter.
"""
import torch
from torch import nn


class Penalty:
    """strength * the sum of `norm(w)` over the weight matrices and kernels."""

    def __init__(self, strength: float):
        self.strength = strength

    def __call__(self, model: nn.Module) -> torch.Tensor:
        weights = [p for p in model.parameters() if p.ndim > 1 and p.requires_grad]
        return self.strength * sum(self.norm(w) for w in weights)

    def norm(self, w: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class L1(Penalty):
    def norm(self, w):
        return w.abs().sum()


class L2(Penalty):
    def norm(self, w):
        return w.pow(2).sum()
