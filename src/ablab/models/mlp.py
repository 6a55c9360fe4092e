"""Multi-layer perceptron on flattened pixels."""
from collections.abc import Callable, Sequence

from torch import nn

from ablab.models.head import dense_head


class MLP(nn.Module):
    """`acts`, when given, is one activation factory per hidden layer in place of `act` for all."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        act: Callable[[], nn.Module],
        norm: Callable[[int, bool], nn.Module],
        dropout: float = 0.0,
        hidden: Sequence[int] = (512, 256, 128),
        acts: Sequence[Callable[[], nn.Module]] | None = None,
    ):
        super().__init__()
        width = 1
        for size in input_shape:
            width *= size
        *layers, classifier = dense_head(width, hidden, num_classes, act=act if acts is None else acts,
                                         norm=norm, dropout=dropout, order="after")
        # features + classifier as before the shared head, so saved checkpoints still load.
        self.features = nn.Sequential(nn.Flatten(), *layers)
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(self.features(x))
