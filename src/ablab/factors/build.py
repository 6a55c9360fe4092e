"""Turn the composed config into the objects of one run: data, model, loss, module parts.

Every object comes from `hydra.utils.instantiate` on its group's config; this file only
adds what a YAML file cannot know: the data's shape and class count for the model, the
training class counts for losses that need them, the seed for the data, the factories
for activations named per layer (model.activations), and the weights' memory layout
(model.channels_last).
"""
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ablab.paths import CONF_DIR
from ablab.schema import activation_names

if TYPE_CHECKING:  # only a type here: building a model (predict.py) need not import Lightning
    from ablab.data.datamodule import ImageDataModule


def datamodule(cfg: DictConfig) -> "ImageDataModule":
    augment = instantiate(cfg.augment) if cfg.augment.get("_target_") else None
    sampler = instantiate(cfg.sampler) if cfg.get("sampler") and cfg.sampler.get("_target_") else None
    return instantiate(cfg.data, augment=augment, sampler=sampler, seed=cfg.seed, _convert_="all")


def model(cfg: DictConfig, input_shape, num_classes: int) -> nn.Module:
    names = activation_names(cfg.model)  # also here: a checkpoint or a test builds without validate()
    spec = OmegaConf.to_container(cfg.model, resolve=True)
    spec.pop("activations", None)  # names, not a model argument: models get factories
    channels_last = spec.pop("channels_last", False)  # a memory layout, not an argument
    per_layer = {"acts": [activation(name) for name in names]} if names is not None else {}
    net = instantiate(spec, _convert_="all")(
        input_shape=tuple(input_shape),
        num_classes=num_classes,
        act=instantiate(cfg.activation),
        norm=instantiate(cfg.norm),
        dropout=float(cfg.dropout),
        **per_layer,
    )
    instantiate(cfg.init)(net)
    if channels_last:  # here, so training, eval, predict and the benches all build one layout
        net = net.to(memory_format=torch.channels_last)  # the first conv turns its input NHWC too
    return net


def activation(name: str):
    """The `act` factory of one activation option by name (conf/activation/<name>.yaml)."""
    return instantiate(_option("activation", name))


def _option(group: str, name: str) -> DictConfig:
    """A config group's option as Hydra composes it when it is an alias of another option of
    the group (swish.yaml is `defaults: [silu]`): the options it names, then its own keys."""
    node = OmegaConf.load(Path(CONF_DIR) / group / f"{name}.yaml")
    parents = [str(p) for p in node.pop("defaults", []) if str(p) != "_self_"]
    return OmegaConf.merge(*[_option(group, p) for p in parents], node) if parents else node


def loss(cfg: DictConfig, class_counts: list[int]) -> nn.Module:
    # A loss that needs the training class counts declares `class_counts: null` in its YAML.
    extra = {"class_counts": class_counts} if "class_counts" in cfg.loss else {}
    return instantiate(cfg.loss, **extra, _convert_="all")


def penalty(cfg: DictConfig):
    return instantiate(cfg.regularizer) if cfg.regularizer.get("_target_") else None
