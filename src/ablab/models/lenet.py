"""LeNet-5 (LeCun et al., 1998): two 5x5 convs (6, 16 channels) with 2x2 pooling, then 120-84 dense.

The original read 28x28 digits padded to 32x32, so images smaller than 32 px get that
padding in the first conv ('same' 5x5) and reach the paper's 28x28 first map; 32x32
and larger inputs run unpadded as in the paper. The paper's tanh becomes the `act`
factor and its trainable subsampling plain pooling (avg by default, the closest kin).
"""
from collections.abc import Callable, Sequence

from torch import nn

from ablab.errors import UserError
from ablab.models.head import dense_head

_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class LeNet5(nn.Module):
    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        act: Callable[[], nn.Module],
        norm: Callable[[int, bool], nn.Module],
        dropout: float = 0.0,
        pool: str = "avg",
    ):
        super().__init__()
        channels, height, width = input_shape
        if min(height, width) < 12:  # two 5x5 convs and two 2x2 pools need 12 px with the padding
            raise UserError(f"model=lenet5 needs images of at least 12x12 px, got {tuple(input_shape)}")
        pad = 2 if min(height, width) < 32 else 0
        self.features = nn.Sequential(
            nn.Conv2d(channels, 6, 5, padding=pad), norm(6, True), act(), _POOLS[pool](2),
            nn.Conv2d(6, 16, 5), norm(16, True), act(), _POOLS[pool](2),
        )
        # Map size by arithmetic rather than a dummy forward, which would touch BN statistics.
        height, width = (((s + 2 * pad - 4) // 2 - 4) // 2 for s in (height, width))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            *dense_head(16 * height * width, (120, 84), num_classes,
                        act=act, norm=norm, dropout=dropout, order="after"),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
