"""Weight initialisation schemes, applied to a built model's conv and linear layers.

Each scheme is a function `(model) -> None`; `default` keeps PyTorch's own init.
Biases start at zero under every explicit scheme. Norm layers keep their (1, 0).
Recurrent layers get the scheme on their weight matrices too.
"""
from torch import nn

_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)
_RECURRENT = (nn.RNN, nn.LSTM, nn.GRU)


def _apply(model: nn.Module, weight_fn) -> None:
    for module in model.modules():
        if isinstance(module, _LAYERS):
            weight_fn(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, _RECURRENT):
            for name, param in module.named_parameters():
                if name.startswith("weight"):
                    weight_fn(param)
                else:
                    nn.init.zeros_(param)


def default(model: nn.Module) -> None:
    """PyTorch's per-layer defaults (Kaiming-uniform with a=sqrt(5) for conv/linear)."""


def xavier(model: nn.Module, uniform: bool = True) -> None:
    _apply(model, nn.init.xavier_uniform_ if uniform else nn.init.xavier_normal_)


def kaiming(model: nn.Module, mode: str = "fan_in", nonlinearity: str = "relu") -> None:
    _apply(model, lambda w: nn.init.kaiming_normal_(w, mode=mode, nonlinearity=nonlinearity))


def orthogonal(model: nn.Module, gain: float = 1.0) -> None:
    _apply(model, lambda w: nn.init.orthogonal_(w, gain=gain))
