"""A configurable stack of conv blocks followed by a small dense head.

Each block is conv -> norm -> act, optionally followed by pooling and 2-D dropout.
Block lists are plain config, so the studies' networks are YAML files, not code:
the EMNIST study's three stride-2 convs, the 6-conv BN + Dropout2d digit net, the
4-conv CIFAR net, the MNIST grid study's one-conv net (see conf/model/).
"""
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ablab.errors import UserError
from ablab.models.head import dense_head

_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


def conv_block(
    in_ch: int,
    out_ch: int,
    *,
    act: Callable[[], nn.Module],
    norm: Callable[[int, bool], nn.Module],
    kernel: int = 3,
    stride: int = 1,
    padding: int | None = None,
    pool: str | None = None,
    dropout: float = 0.0,
) -> nn.Sequential:
    if padding is None:
        padding = kernel // 2  # "same" for odd kernels at stride 1
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=padding),
        norm(out_ch, True),
        act(),
    ]
    if pool:
        layers.append(_POOLS[pool](2))
    if dropout > 0:
        layers.append(nn.Dropout2d(dropout))
    return nn.Sequential(*layers)


class CNN(nn.Module):
    """`blocks` is a list of dicts with keys channels, kernel, stride, padding, pool (max|avg|null), dropout.

    A block's `padding` defaults to kernel // 2, which keeps the map's size at stride 1; 0 is a
    "valid" conv that shrinks it by kernel - 1.

    A block's `dropout` (2-D dropout after it) defaults to `block_dropout` (off); the dense
    head uses the `dropout` factor. `global_pool` averages the last feature map to 1x1 so the head
    does not depend on the image size; without it the map is flattened.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        act: Callable[[], nn.Module],
        norm: Callable[[int, bool], nn.Module],
        dropout: float = 0.0,
        blocks: Sequence[dict] = (
            {"channels": 32, "pool": None},
            {"channels": 32, "pool": "max"},
            {"channels": 64, "pool": None},
            {"channels": 64, "pool": "max"},
        ),
        block_dropout: float = 0.0,
        global_pool: bool = False,
        head: Sequence[int] = (128,),
    ):
        super().__init__()
        channels = input_shape[0]
        stack = []
        for spec in blocks:
            spec = {"dropout": block_dropout, **spec}
            out = spec.pop("channels")  # the keys were checked with the config (ablab.schema.model)
            stack.append(conv_block(channels, out, act=act, norm=norm, **spec))
            channels = out
        if global_pool:
            stack.append(nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*stack)
        # Probe the flattened size in eval mode: a train-mode pass would update BatchNorm's
        # running statistics and fail on a 1x1 map with a batch of one.
        self.features.eval()
        with torch.no_grad():
            try:
                width = self.features(torch.zeros(1, *input_shape)).numel()
            except RuntimeError as exc:  # a kernel or pool larger than what the blocks before it left
                shape = "x".join(map(str, input_shape))
                first = str(exc).strip().splitlines()[0]
                raise UserError(f"model.blocks do not fit {shape} images: {first}") from None
        self.features.train()
        self.classifier = nn.Sequential(
            nn.Flatten(), *dense_head(width, head, num_classes, act=act, norm=norm, dropout=dropout, order="before")
        )

    def forward(self, x):
        return self.classifier(self.features(x))
