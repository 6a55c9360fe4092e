"""Whether the device a config asks for is there (asked before any data loads), and which
device a run trained on (results.json's `device`)."""
import os

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


def trained_on(trainer) -> str:
    """What results.json's `device` says: "cpu", "mps", or the machine's own GPU numbers
    ("cuda:2"; "cuda:0,1,2,3" for DDP over four), not torch's renumbering of the GPUs
    CUDA_VISIBLE_DEVICES leaves visible (a job pinned to GPU 2 sees it as cuda:0)."""
    root = trainer.strategy.root_device
    if root.type != "cuda":
        return root.type
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [d.strip() for d in listed.split(",") if d.strip()] if listed else []
    ids = list(getattr(trainer, "device_ids", None) or [root.index or 0])
    return "cuda:" + ",".join(names[i] if i < len(names) else str(i) for i in ids)
