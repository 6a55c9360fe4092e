"""The dense head every model ends with: hidden Linear -> norm -> act layers, then the classifier.

Models differ only in where dropout sits, so `order` names the three layouts in use:
  "before"         Dropout before every Linear, the classifier's too (cnn, rnn)
  "before_hidden"  Dropout before each hidden Linear only (alexnet, as in the paper)
  "after"          Dropout after each hidden layer's activation (mlp, vgg as in its paper, lenet5)
The layers come back as a list so a model can put them in its own Sequential (after a
Flatten, say) and keep its state_dict keys.
"""
from collections.abc import Callable, Sequence

from torch import nn

Act = Callable[[], nn.Module]
ORDERS = ("before", "before_hidden", "after")


def dense_head(
    width: int,
    sizes: Sequence[int],
    num_classes: int,
    *,
    act: Act | Sequence[Act],
    norm: Callable[[int, bool], nn.Module],
    dropout: float,
    order: str,
) -> list[nn.Module]:
    """`act` is one factory for every hidden layer or a list of factories, one per hidden layer."""
    if order not in ORDERS:
        raise ValueError(f"order={order!r}: must be one of {ORDERS}")
    acts = list(act) if isinstance(act, Sequence) else [act] * len(sizes)
    if len(acts) != len(sizes):
        raise ValueError(f"{len(acts)} activations for {len(sizes)} hidden layers: give one per layer")
    layers: list[nn.Module] = []
    for size, make_act in zip(sizes, acts):
        hidden = [nn.Linear(width, size), norm(size, False), make_act()]
        layers += (hidden + [nn.Dropout(dropout)]) if order == "after" else ([nn.Dropout(dropout)] + hidden)
        width = size
    if order == "before":
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, num_classes))
    return layers
