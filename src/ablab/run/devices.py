"""Whether the device a config asks for is there, asked before any data loads."""
import torch

from ablab.errors import UserError


def require(key: str, name: str) -> None:
    """`name` is a trainer accelerator or a torch device name (cuda, cuda:1, mps, ...)."""
    kind = str(name).split(":")[0]
    if kind in ("gpu", "cuda") and not torch.cuda.is_available():
        raise UserError(f"{key}={name} but no CUDA GPU is visible here (torch.cuda.is_available() is False); "
                        f"use {key}=auto or cpu")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"{key}={name} but Apple's MPS is not available here; use {key}=auto or cpu")
