"""Normalisation layers by name, one factory per kind.

Every architecture takes a `norm(channels, spatial)` callable: `spatial=True` for
conv feature maps (N, C, H, W), `spatial=False` for dense features (N, C). A config
picks the kind with `_target_` and binds extra arguments with `_partial_`, so a new
kind of norm is one function here plus one YAML file, never an edit to a model.
"""
from torch import nn


def batch(channels: int, spatial: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if spatial else nn.BatchNorm1d(channels)


def layer(channels: int, spatial: bool) -> nn.Module:
    # For feature maps, one group normalises over (C, H, W): layer norm that does
    # not depend on the spatial size, so models stay size-agnostic.
    return nn.GroupNorm(1, channels) if spatial else nn.LayerNorm(channels)


def group(channels: int, spatial: bool, groups: int = 8) -> nn.Module:
    # Fall back to the largest divisor of `channels` not above `groups`, so narrow
    # layers (a 6-channel LeNet conv, say) still get a valid GroupNorm.
    g = max(d for d in range(1, min(groups, channels) + 1) if channels % d == 0)
    return nn.GroupNorm(g, channels)


def none(channels: int, spatial: bool) -> nn.Module:
    return nn.Identity()
