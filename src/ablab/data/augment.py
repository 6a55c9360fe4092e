"""Batched augmentation on the device: whole batches of float images in [0, 1], no per-image loop.

An augmentation is a callable `(x, generator) -> x` on (N, C, H, W). It runs on the
training batches only, before normalisation (see ablab.data.preprocess).
Options: augment=affine (alias digits), augment=crop_flip (alias cifar).
"""
import math

import torch
import torch.nn.functional as F


class Affine:
    """Small random rotation, translation and scale: what a pen does to a digit."""

    def __init__(self, degrees: float = 10.0, translate: float = 0.1, scale: tuple[float, float] = (0.9, 1.1)):
        self.degrees, self.translate, self.scale = degrees, translate, tuple(scale)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n = x.shape[0]

        def uniform(low, high):
            return torch.rand(n, generator=generator, device=x.device) * (high - low) + low

        angle = uniform(-self.degrees, self.degrees) * (math.pi / 180)
        zoom = uniform(*self.scale)
        shift_x, shift_y = uniform(-self.translate, self.translate), uniform(-self.translate, self.translate)
        # affine_grid maps output to input coordinates, hence the inverse zoom.
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, shift_x * 2], 1), torch.stack([sin, cos, shift_y * 2], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)


class CropFlip:
    """Random crop after `padding` reflected pixels per side, and a horizontal flip half the time."""

    def __init__(self, padding: int = 4, flip: bool = True):
        self.padding, self.flip = padding, flip

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        p = self.padding
        if p:
            padded = F.pad(x, (p, p, p, p), mode="reflect")
            dy = torch.randint(0, 2 * p + 1, (n, 1), generator=generator, device=x.device)
            dx = torch.randint(0, 2 * p + 1, (n, 1), generator=generator, device=x.device)
            rows = (dy + torch.arange(h, device=x.device))[:, :, None]  # (N, H, 1)
            cols = (dx + torch.arange(w, device=x.device))[:, None, :]  # (N, 1, W)
            batch = torch.arange(n, device=x.device)[:, None, None]
            x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
        if self.flip:
            flip = torch.rand(n, generator=generator, device=x.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x.contiguous()

