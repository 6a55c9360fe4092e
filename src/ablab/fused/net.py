"""K networks of one architecture as one: every weight stacked along a new leading dimension.

Member k's input is x[k] (its own batch: members with different seeds or folds see different
images), and its output is logits[k], computed from its own slice of every stacked weight. A
Linear is one batched matmul (baddbmm, W·xᵀ + b) whose output lies features × batch
([K, H, B]); a BatchNorm1d is one batch norm of that output viewed as [1, K·H, B] (per-member
statistics, as the separate runs keep them, and no copy); the next Linear multiplies it as it
lies. A LayerNorm normalises each member's rows and applies its own scale; an activation is
elementwise. Dropout draws each member's mask with `F.dropout` itself from that member's own
random stream (the device's default generator set to the member's state for the draw), on
the member's rows in the order its separate run draws, so the masks are the same masks on a
CPU and on a GPU.

Which architectures: those `chain(net)` can read as a straight chain of these layers, which
is the MLP. A convolutional model would need grouped convolutions with K·C channels; on this
2-core CPU they were slower than K convolutions one after another at K=4 and mixed at K=16
(bench/fused_layers.py, docs/fused.md), so those models run one by one (the launcher says so)
rather than through a slower fused path.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ablab.models.mlp import MLP

# Elementwise activations without parameters: applied to [K, B, H] as to [B, H].
ELEMENTWISE_LAYERS = (nn.ReLU, nn.Tanh, nn.GELU, nn.SiLU, nn.ELU, nn.SELU, nn.Sigmoid, nn.LeakyReLU, nn.Softplus,
               nn.Mish, nn.Hardswish, nn.Identity)


def chain(net: nn.Module) -> list[nn.Module] | None:
    """The network's layers in the order its forward applies them, or None when it is not a chain."""
    if type(net) is MLP:
        return [*net.features, net.classifier]
    return None


def unsupported(net: nn.Module) -> str | None:
    """Why this network has no fused form, or None."""
    layers = chain(net)
    if layers is None:
        return f"model {type(net).__name__} has no fused form (fusion covers the MLP)"
    for layer in layers:
        if isinstance(layer, nn.BatchNorm1d) and not (layer.affine and layer.track_running_stats):
            return "a BatchNorm1d without affine weights or running statistics"
        if isinstance(layer, nn.LayerNorm) and (len(layer.normalized_shape) != 1 or not layer.elementwise_affine):
            return "a LayerNorm over more than one dimension or without affine weights"
        if not isinstance(layer, (nn.Flatten, nn.Linear, nn.BatchNorm1d, nn.LayerNorm, nn.Dropout, *ELEMENTWISE_LAYERS)):
            return f"layer {type(layer).__name__} has no fused form"
    return None


class FusedNet(nn.Module):
    """The K members' networks as one module; `parameters()` are the stacked tensors, in the
    order of each member's own `parameters()` (so optimizer states map one to one)."""

    def __init__(self, nets: list[nn.Module]):
        super().__init__()
        self.k = len(nets)
        chains = [chain(n) for n in nets]
        self.kinds: list[nn.Module] = list(chains[0])  # member 0's layer objects, for their settings
        self.layers = nn.ModuleList()
        for i, layer in enumerate(self.kinds):
            holder = nn.Module()  # the stacked weights and buffers of layer i
            for name, p in layer.named_parameters(recurse=False):
                holder.register_parameter(name, nn.Parameter(torch.stack([c[i].get_parameter(name).detach()
                                                                          for c in chains])))
            for name, b in layer.named_buffers(recurse=False):
                if name == "num_batches_tracked":  # one count: every member takes the same steps
                    holder.register_buffer(name, b.detach().clone())
                else:
                    holder.register_buffer(name, torch.stack([c[i].get_buffer(name).detach() for c in chains]))
            self.layers.append(holder)
        # Dropout rates may differ between members; each member's mask comes from its own generator.
        self.dropout = [[c[i].p if isinstance(c[i], nn.Dropout) else 0.0 for c in chains] for i in range(len(self.kinds))]
        self.streams: list[torch.Tensor] = []  # each member's generator state (reseed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # A Linear computes W·xᵀ + b: its output is features × batch ([K, H, B], "transposed"),
        # where a BatchNorm1d over K·H channels is a view, with no copy, and the next Linear
        # multiplies it as it is. LayerNorm and dropout work on a member's rows ([B, H]).
        transposed = False
        for i, (kind, held) in enumerate(zip(self.kinds, self.layers)):
            if isinstance(kind, nn.Flatten):
                x = x.flatten(kind.start_dim + 1, kind.end_dim if kind.end_dim < 0 else kind.end_dim + 1)
            elif isinstance(kind, nn.Linear):
                features = x if transposed else x.transpose(1, 2)
                x = torch.baddbmm(held.bias.unsqueeze(2), held.weight, features) if kind.bias is not None \
                    else torch.bmm(held.weight, features)
                transposed = True
            elif isinstance(kind, nn.BatchNorm1d):
                x = self._batch_norm(kind, held, x if transposed else x.transpose(1, 2).contiguous())
                transposed = True
            elif isinstance(kind, nn.LayerNorm):
                rows = x.transpose(1, 2) if transposed else x
                x = F.layer_norm(rows, kind.normalized_shape, None, None, kind.eps)
                x = torch.addcmul(held.bias.unsqueeze(1), x, held.weight.unsqueeze(1))
                transposed = False
            elif isinstance(kind, nn.Dropout):
                x, transposed = self._dropout(i, x, transposed)
            else:
                x = kind(x)
        return x.transpose(1, 2).contiguous() if transposed else x

    def _batch_norm(self, kind: nn.BatchNorm1d, held: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Batch norm of [K, H, B] as [1, K·H, B]: member k's channels are k·H .. k·H+H-1, each
        normalised over its batch, as nn.BatchNorm1d normalises a [B, H] batch."""
        k, h, b = x.shape
        factor = kind.momentum
        if self.training:  # as nn.BatchNorm1d: count the batch, cumulative average when momentum is None
            held.num_batches_tracked.add_(1)
            if factor is None:
                factor = 1.0 / float(held.num_batches_tracked)
        out = F.batch_norm(x.reshape(1, k * h, b), held.running_mean.view(-1), held.running_var.view(-1),
                           held.weight.view(-1), held.bias.view(-1), self.training, factor or 0.0, kind.eps)
        return out.view(k, h, b)

    def _dropout(self, i: int, x: torch.Tensor, transposed: bool) -> tuple[torch.Tensor, bool]:
        rates = self.dropout[i]
        if not self.training or not any(rates):
            return x, transposed
        # F.dropout itself, on each member's rows, from each member's own random stream: torch's
        # default generator of the device is set to the member's state and read back after, so
        # the masks are the ones its separate run draws, on a CPU and on a GPU alike.
        generator = _default_generator(x.device)
        outer = generator.get_state()
        out = []
        try:
            for k, p in enumerate(rates):
                rows = x[k].t().contiguous() if transposed else x[k]  # the mask is drawn in row order
                if p == 0:  # F.dropout with p=0 draws nothing
                    out.append(rows)
                    continue
                generator.set_state(self.streams[k])
                out.append(F.dropout(rows, p, True))
                self.streams[k] = generator.get_state()
        finally:
            generator.set_state(outer)
        return torch.stack(out), False

    def reseed(self, seeds: list[int]) -> None:
        """Each member's dropout stream as its run's EpochSeed seeds torch's global generator."""
        device = next(self.parameters()).device
        self.streams = [torch.Generator(device=device).manual_seed(s).get_state() for s in seeds]

    # ---- each member's own network, for checkpoints and figures ----
    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's weights and buffers by layer index and name."""
        state = {}
        for i, held in enumerate(self.layers):
            for name, t in list(held.named_parameters(recurse=False)) + list(held.named_buffers(recurse=False)):
                state[(i, name)] = t.detach() if name == "num_batches_tracked" else t.detach()[k]
        return state

    def copy_to(self, k: int, net: nn.Module) -> None:
        """Write member k's current weights into its own network (`chain(net)` order)."""
        with torch.no_grad():
            for (i, name), value in self.member_state(k).items():
                layer = chain(net)[i]
                target = layer.get_parameter(name) if name in dict(layer.named_parameters(recurse=False)) \
                    else layer.get_buffer(name)
                target.copy_(value)

    def copy_from(self, k: int, net: nn.Module) -> None:
        """Member k's slice from its own network (a resumed member's checkpoint)."""
        with torch.no_grad():
            for i, (layer, held) in enumerate(zip(chain(net), self.layers)):
                for name, p in held.named_parameters(recurse=False):
                    p[k].copy_(layer.get_parameter(name))
                for name, b in held.named_buffers(recurse=False):
                    if name == "num_batches_tracked":
                        b.copy_(layer.get_buffer(name))
                    else:
                        b[k].copy_(layer.get_buffer(name))


def _default_generator(device: torch.device) -> torch.Generator:
    if device.type == "cuda":
        return torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()]
    return torch.default_generator
