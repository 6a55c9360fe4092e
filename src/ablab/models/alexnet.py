"""AlexNet (Krizhevsky et al., 2012) scaled for 28-32 px images, without upscaling.

The design kept: five convs of 64-192-384-256-256 channels, overlapping 3x3 stride-2
max pooling after conv 1, 2 and 5, and a dropout-regularised two-layer dense head.
What changed for small images: the 11x11 stride-4 first conv becomes 5x5 stride 1
(a 32 px image would otherwise be 8 px after one layer), pools are padded and skipped
once the map is 1 px, the dense layers are 1024 wide instead of 4096, and local
response normalisation gives way to the `norm` factor.
"""
from collections.abc import Callable, Sequence

from torch import nn

from ablab.models.head import dense_head

# (out channels, kernel, pool after) for the five convs.
_CONVS = ((64, 5, True), (192, 5, True), (384, 3, False), (256, 3, False), (256, 3, True))


class AlexNet(nn.Module):
    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        act: Callable[[], nn.Module],
        norm: Callable[[int, bool], nn.Module],
        dropout: float = 0.0,
        head: Sequence[int] = (1024, 1024),
    ):
        super().__init__()
        channels, height, width = input_shape
        layers: list[nn.Module] = []
        for out, kernel, pool in _CONVS:
            layers += [nn.Conv2d(channels, out, kernel, padding=kernel // 2), norm(out, True), act()]
            channels = out
            if pool and min(height, width) >= 2:
                layers.append(nn.MaxPool2d(3, stride=2, padding=1))
                height, width = (height - 1) // 2 + 1, (width - 1) // 2 + 1  # ceil(s / 2)
        self.features = nn.Sequential(*layers)
        features = channels * height * width
        self.classifier = nn.Sequential(  # the paper's order: dropout before each hidden dense layer
            nn.Flatten(),
            *dense_head(features, head, num_classes, act=act, norm=norm, dropout=dropout, order="before_hidden"),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
