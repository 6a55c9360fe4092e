"""Open a run's checkpoint as plain data and rebuild its trained network.

The LightningModule stores what a checkpoint needs to stand on its own under
`checkpoint["ablab"]`: the resolved config and the run's `Preprocess` (class names, input
shape, mean/std, augmentation) as plain data, so loading needs no pickled objects
(`weights_only=True`) and no run directory.
"""
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ablab.data.preprocess import Preprocess
from ablab.errors import UserError
from ablab.factors import build
from ablab.run import stored


@dataclass
class Checkpoint:
    path: str
    config: DictConfig  # the training run's fully resolved config
    preprocess: Preprocess  # what the network was fed, and what its outputs are called
    state_dict: dict[str, torch.Tensor]  # the LightningModule's: "model.*", "loss.*", ...
    epoch: int | None = None

    @property
    def classes(self) -> list[str]:
        return self.preprocess.classes

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.preprocess.input_shape

    def part(self, prefix: str) -> dict[str, torch.Tensor]:
        """The state of one submodule, e.g. part("model") for the network."""
        return {k[len(prefix) + 1:]: v for k, v in self.state_dict.items() if k.startswith(prefix + ".")}

    def describe_shape(self) -> str:
        return "x".join(map(str, self.input_shape))


def load(path) -> Checkpoint:
    if not path:
        raise UserError("ckpt_path must be set, e.g. ckpt_path=outputs/<date>/<time>/checkpoints/best.ckpt")
    if not Path(path).is_file():
        raise UserError(f"ckpt_path={path}: no such checkpoint file")
    hint = "use checkpoints/best.ckpt or last.ckpt of a train.py run"
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a torch file at all, or one holding pickled objects rather than plain data
        raise UserError(f"ckpt_path={path}: not an ablab checkpoint (not a PyTorch file of tensors and "
                        f"plain data); {hint}") from None
    meta = stored.current(raw.get("ablab")) if isinstance(raw, dict) else None  # its targets where they are now
    # Checkpoints written before the Preprocess object kept its facts at the top level.
    facts = meta.get("preprocess", meta) if isinstance(meta, dict) else {}
    if not {"classes", "input_shape", "mean", "std"} <= facts.keys() or "config" not in meta or "state_dict" not in raw:
        raise UserError(f"ckpt_path={path}: not an ablab checkpoint (no 'ablab' metadata); {hint}")
    return Checkpoint(path=str(path), config=OmegaConf.create(meta["config"]), preprocess=Preprocess.from_dict(facts),
                      state_dict=raw["state_dict"], epoch=raw.get("epoch"))


def network(ckpt: Checkpoint) -> nn.Module:
    """The trained network, built from the run's own config, in eval mode."""
    net = build.model(ckpt.config, ckpt.input_shape, len(ckpt.classes))
    try:
        net.load_state_dict(ckpt.part("model"))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError(f"ckpt_path={ckpt.path}: weights do not fit the model in its config ({first})") from None
    return net.eval()

