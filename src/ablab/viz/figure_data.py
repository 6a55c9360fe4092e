"""What a run's end-of-test figures are drawn from, as plain tensors and lists (no matplotlib).

`collect` gathers it once test is through; `ablab.viz.draw` turns it into figures, at once
or later: a sweep's jobs save it as <run dir>/figures/figures.pt (loadable with
weights_only=True) and `python -m ablab.viz DIR` draws them when someone wants to look.
"""
import torch
from torch import nn

from ablab.data.ranks import classes_in_turn

FIRST_LAYER_TYPES = (nn.Conv2d, nn.Linear, nn.RNNBase)


def first_layer(model: nn.Module) -> nn.Module | None:
    """The first Conv2d, Linear or RNN in `model.modules()` order (construction order)."""
    return next((m for m in model.modules() if isinstance(m, FIRST_LAYER_TYPES)), None)


def first_layer_weights(layer: nn.Module) -> tuple[str, torch.Tensor]:
    """(kind, input weights) of a first layer: conv kernels, a dense layer's rows, an RNN's input weights."""
    if isinstance(layer, nn.RNNBase):
        return "rnn", layer.weight_ih_l0.detach().float().cpu().clone()
    return ("conv" if isinstance(layer, nn.Conv2d) else "dense"), layer.weight.detach().float().cpu().clone()


def collect(*, classes, input_shape, train_labels, train_images, confusion_matrix, per_class_acc,
            test_samples, mistakes, model: nn.Module, history, n_samples: int, n_kernels: int, step: int,
            label: str = "") -> dict:
    """Everything the figures show. `train_images(indices)` reads training images (uint8, CPU);
    `test_samples` is the grid's (images in [0, 1], predicted, true) or None; `mistakes` is
    (images, confidence, predicted, true) or None."""
    k = len(classes)
    picked = classes_in_turn(train_labels.cpu(), n_samples, k)
    data = {
        "classes": list(classes), "input_shape": list(input_shape), "step": int(step), "n_kernels": n_kernels,
        "train_images": train_images(picked), "train_labels": train_labels[picked.to(train_labels.device)].cpu(),
        "confusion_matrix": torch.as_tensor(confusion_matrix).cpu(), "per_class_acc": list(per_class_acc),
        "test_samples": None, "mistakes": None, "first_layer": None, "history": [dict(e) for e in history],
        "label": label,  # whose figures: the run's display name and dataset, in each figure's footer
    }
    if test_samples is not None:
        data["test_samples"] = dict(zip(("images", "pred", "true"), test_samples))
    if mistakes is not None:
        data["mistakes"] = dict(zip(("images", "conf", "pred", "true"), mistakes))
    layer = first_layer(model)
    if layer is not None:
        kind, weight = first_layer_weights(layer)
        data["first_layer"] = {"kind": kind, "weight": weight}
    return data
