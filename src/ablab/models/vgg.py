"""VGG (Simonyan & Zisserman, 2014), configurations 11 (A) and 16 (D), for small images.

The design kept: stacks of 3x3 convs (padding 1) between 2x2 max pools, widths
64-128-256-512-512, and a three-layer dense head with dropout. What changed: a pool is
skipped once the map is below 2 px, so a 28 px image (28-14-7-3-1) runs the same
stack as a 32 px one (32-16-8-4-2-1); the dense layers are 512 wide instead of 4096;
the `norm` factor after each conv gives the BN variant (norm=none is the original).
"""
from collections.abc import Callable, Sequence

from torch import nn

from ablab.models.head import dense_head

# Conv widths per configuration; "M" is a 2x2 max pool.
_CONFIGS = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


class VGG(nn.Module):
    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        act: Callable[[], nn.Module],
        norm: Callable[[int, bool], nn.Module],
        dropout: float = 0.0,
        depth: int = 11,
        head: Sequence[int] = (512, 512),
    ):
        super().__init__()
        channels, height, width = input_shape
        layers: list[nn.Module] = []
        for item in _CONFIGS[depth]:
            if item != "M":
                layers += [nn.Conv2d(channels, item, 3, padding=1), norm(item, True), act()]
                channels = item
            elif min(height, width) >= 2:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
        self.features = nn.Sequential(*layers)
        features = channels * height * width
        self.classifier = nn.Sequential(  # the paper's order: linear, activation, dropout
            nn.Flatten(), *dense_head(features, head, num_classes, act=act, norm=norm, dropout=dropout, order="after")
        )

    def forward(self, x):
        return self.classifier(self.features(x))
