"""Turn the composed config into the objects of one run: data, model, loss, module parts.

Every object comes from `hydra.utils.instantiate` on its group's config; this file only
adds what a YAML file cannot know: the data's shape and class count for the model, the
training class counts for losses that need them, and the seed for the data.
"""
from typing import TYPE_CHECKING

from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

if TYPE_CHECKING:  # only a type here: building a model (predict.py) need not import Lightning
    from ablab.data.module import ImageDataModule


def datamodule(cfg: DictConfig) -> "ImageDataModule":
    augment = instantiate(cfg.augment) if cfg.augment.get("_target_") else None
    sampler = instantiate(cfg.sampler) if cfg.get("sampler") and cfg.sampler.get("_target_") else None
    return instantiate(cfg.data, augment=augment, sampler=sampler, seed=cfg.seed, _convert_="all")


def model(cfg: DictConfig, input_shape, num_classes: int) -> nn.Module:
    net = instantiate(cfg.model, _convert_="all")(
        input_shape=tuple(input_shape),
        num_classes=num_classes,
        act=instantiate(cfg.activation),
        norm=instantiate(cfg.norm),
        dropout=float(cfg.dropout),
    )
    instantiate(cfg.init)(net)
    return net


def loss(cfg: DictConfig, class_counts: list[int]) -> nn.Module:
    # A loss that needs the training class counts declares `class_counts: null` in its YAML.
    extra = {"class_counts": class_counts} if "class_counts" in cfg.loss else {}
    return instantiate(cfg.loss, **extra, _convert_="all")


def penalty(cfg: DictConfig):
    return instantiate(cfg.regularizer) if cfg.regularizer.get("_target_") else None
