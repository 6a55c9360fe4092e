"""Every optimizer config works with every scheduler config, and a schedule never changes
which optimizer a run compares: one-cycle must not give plain SGD a momentum."""
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

CONF = Path(__file__).resolve().parents[1] / "conf"


class _Trainer:  # the two numbers a schedule reads from Lightning's trainer
    estimated_stepping_batches = 20
    max_epochs = 4


def load(group: str, name: str):
    cfg = OmegaConf.create({"optimizer": OmegaConf.load(CONF / "optimizer" / "adam.yaml")})
    node = OmegaConf.load(CONF / group / f"{name}.yaml")
    for parent in node.pop("defaults", []):  # nesterov.yaml extends sgd_momentum.yaml
        node = OmegaConf.merge(OmegaConf.load(CONF / group / f"{parent}.yaml"), node) if parent != "_self_" else node
    cfg[group] = node
    return instantiate(cfg[group])


def names(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize("scheduler", names("scheduler"))
@pytest.mark.parametrize("optimizer", names("optimizer"))
def test_every_optimizer_runs_under_every_schedule(optimizer, scheduler):
    model = nn.Linear(4, 3)
    opt = load("optimizer", optimizer)(model.parameters())
    momentum_before = [g.get("momentum") for g in opt.param_groups]
    config = load("scheduler", scheduler).lightning_config(opt, _Trainer())
    for _ in range(3):
        model(torch.randn(8, 4)).sum().backward()
        opt.step()
        opt.zero_grad()
        if config is not None:
            sched = config["scheduler"]
            sched.step(1.0) if "monitor" in config else sched.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    if all(m == 0 for m in momentum_before):  # sgd, rmsprop: no momentum, before or after
        assert [g["momentum"] for g in opt.param_groups] == momentum_before


def test_one_cycle_still_cycles_adams_beta1():
    model = nn.Linear(4, 3)
    opt = load("optimizer", "adam")(model.parameters())
    config = load("scheduler", "onecycle").lightning_config(opt, _Trainer())
    first = opt.param_groups[0]["betas"][0]
    for _ in range(5):
        opt.step()
        config["scheduler"].step()
    assert opt.param_groups[0]["betas"][0] != first


def test_optimizers_use_fused_kernels_where_torch_has_them():
    model = nn.Linear(4, 3)
    for name in ("adam", "adamw", "sgd", "sgd_momentum", "nesterov"):
        assert load("optimizer", name)(model.parameters()).defaults["fused"] is True, name
