"""ResNet (He et al., 2015) at depths 18 and 34 (basic blocks) and 50 (bottleneck blocks).

Two stems: `small` (3x3 stride-1 conv, no max pool; the usual CIFAR choice, keeps
a 28-32 px image at full size into the first stage) and `imagenet` (7x7 stride-2
conv + 3x3 stride-2 max pool, the paper's). Stages of 64-128-256-512 planes (scaled by
`width`) halve the map from the second on; global average pooling feeds one linear
layer, so any image size works. The stride of a bottleneck sits on its 3x3 conv
(torchvision's "v1.5").
"""
from collections.abc import Callable, Sequence

from torch import nn

Act = Callable[[], nn.Module]
Norm = Callable[[int, bool], nn.Module]


def _shortcut(in_ch: int, out_ch: int, stride: int, norm: Norm, bias: bool) -> nn.Module:
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=bias), norm(out_ch, True))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int, act: Act, norm: Norm, bias: bool):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, planes, 3, stride=stride, padding=1, bias=bias), norm(planes, True), act(),
            nn.Conv2d(planes, planes, 3, padding=1, bias=bias), norm(planes, True),
        )
        self.shortcut = _shortcut(in_ch, planes, stride, norm, bias)
        self.act = act()

    def forward(self, x):
        return self.act(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int, act: Act, norm: Norm, bias: bool):
        super().__init__()
        out = planes * self.expansion
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, planes, 1, bias=bias), norm(planes, True), act(),
            nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=bias), norm(planes, True), act(),
            nn.Conv2d(planes, out, 1, bias=bias), norm(out, True),
        )
        self.shortcut = _shortcut(in_ch, out, stride, norm, bias)
        self.act = act()

    def forward(self, x):
        return self.act(self.body(x) + self.shortcut(x))


_DEPTHS = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)), 50: (Bottleneck, (3, 4, 6, 3))}


class ResNet(nn.Module):
    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        act: Act,
        norm: Norm,
        dropout: float = 0.0,
        depth: int = 18,
        stem: str = "small",
        width: int = 64,
    ):
        super().__init__()
        # A conv bias is redundant before a norm layer (its shift absorbs it) but is all
        # the shift there is when norm=none.
        bias = isinstance(norm(width, True), nn.Identity)
        if stem == "small":
            layers = [nn.Conv2d(input_shape[0], width, 3, padding=1, bias=bias), norm(width, True), act()]
        else:
            layers = [
                nn.Conv2d(input_shape[0], width, 7, stride=2, padding=3, bias=bias), norm(width, True), act(),
                nn.MaxPool2d(3, stride=2, padding=1),
            ]
        block, counts = _DEPTHS[depth]
        channels = width
        for stage, count in enumerate(counts):
            planes = width * 2**stage
            for i in range(count):
                stride = 2 if stage > 0 and i == 0 else 1
                layers.append(block(channels, planes, stride, act, norm, bias))
                channels = planes * block.expansion
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
