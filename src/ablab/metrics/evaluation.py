"""One split's evaluation as the metric objects returned it: what results.json, the figures
and the long-tail report all read (each for itself; none of them writes into it)."""
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Evaluation:
    scalars: dict[str, float]  # loss, acc, precision/recall/f1 micro and macro
    per_class_acc: list[float]  # recall of each class: the accuracy on its images
    confusion_matrix: torch.Tensor  # K x K on the CPU, rows = true class
