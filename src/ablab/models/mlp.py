"""Multi-layer perceptron on flattened pixels."""
from collections.abc import Callable, Sequence

from torch import nn


class MLP(nn.Module):
    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        act: Callable[[], nn.Module],
        norm: Callable[[int, bool], nn.Module],
        dropout: float = 0.0,
        hidden: Sequence[int] = (512, 256, 128),
    ):
        super().__init__()
        width = 1
        for size in input_shape:
            width *= size
        layers: list[nn.Module] = [nn.Flatten()]
        for size in hidden:
            layers += [nn.Linear(width, size), norm(size, False), act(), nn.Dropout(dropout)]
            width = size
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))
