"""Recurrent classifier that reads an image row by row (the classic sequential-MNIST setup).

Each of the H rows is one time step whose input is that row's W*C values; the head sees
the final state of the last layer (both directions when bidirectional). Normalisation
cannot go inside cuDNN-style cells, so `norm` lives in the dense head only.
"""
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ablab.models.head import dense_head

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RNN(nn.Module):
    """`cell` is rnn|lstm|gru; `head` lists hidden dense sizes (Dropout, Linear, norm, act each),
    the same head as the CNN's, so act and norm act on fresh dense features, not on the
    cell's already-squashed state."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        act: Callable[[], nn.Module],
        norm: Callable[[int, bool], nn.Module],
        dropout: float = 0.0,
        cell: str = "lstm",
        hidden: int = 128,
        layers: int = 1,
        bidirectional: bool = False,
        head: Sequence[int] = (128,),
    ):
        super().__init__()
        channels, _, width = input_shape
        self.rnn = _CELLS[cell](
            channels * width,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            # PyTorch applies this between stacked layers only, so it is a no-op at layers=1.
            dropout=dropout if layers > 1 else 0.0,
        )
        self.directions = 2 if bidirectional else 1
        features = hidden * self.directions
        self.classifier = nn.Sequential(
            *dense_head(features, head, num_classes, act=act, norm=norm, dropout=dropout, order="before")
        )

    def forward(self, x):
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(n, h, w * c)  # (N, steps=H, W*C)
        _, state = self.rnn(rows)
        h_n = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
        # h_n is (layers * directions, N, hidden): the last layer's forward state has read
        # every row top-down, its backward state every row bottom-up.
        last = torch.cat(list(h_n[-self.directions :]), dim=1)
        return self.classifier(last)
