"""The config checks: every config group has a schema (ablab/schema/<group>.py), every option
of every group passes its schema, every rule is for a key some option has, the choices a
schema allows are the ones the builders build, and each rule refuses in one line."""
import copy
import functools
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ablab.paths import CONF_DIR
from ablab.errors import UserError
from ablab.schema import CONFIGS, schema, validate

CONF = Path(CONF_DIR)
# Directories of conf/ that are not a node of the composed config, so have no schema.
NOT_A_NODE = {
    "hydra": "Hydra's own settings (launcher, run dirs, ablab's callback)",
    "experiment": "overlays of the other groups' keys, checked as those groups",
    "hparams_search": "the Optuna sweeper's settings, which Hydra checks",
    "study": "study files, read and checked by ablab.study.spec",
}
# Keys a user adds with +key=value (no option declares them), still checked when given.
ADDED_BY_USERS = {("trainer", "max_steps")}


def groups() -> list[str]:
    return sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name not in NOT_A_NODE)


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def composed(*overrides: str):
    return copy.deepcopy(_composed(overrides))  # a test may change its copy (data.root)


@functools.lru_cache(maxsize=None)  # composing takes ~0.2 s; the option tests compose each option twice
def _composed(overrides: tuple[str, ...]):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides))


@pytest.fixture(scope="module")
def folder_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("folder")
    (root / "train").mkdir()
    return root


def test_every_config_group_has_a_schema_and_is_checked_in_a_run():
    assert set(groups()) == set(CONFIGS["train"]) - {"train"}
    for group in groups():
        assert schema(group) is not None


@pytest.mark.parametrize("group, name", [(g, o) for g in groups() for o in options(g)] +
                         [("experiment", o) for o in options("experiment")], ids=lambda v: v)
def test_every_option_passes_its_groups_schema(group, name, folder_root):
    cfg = composed(f"{group}={name}")
    if "root" in cfg.data.keys() and OmegaConf.is_missing(cfg.data, "root"):  # data=folder: your own images
        cfg.data.root = str(folder_root)
    validate(cfg)


def _all_options(group: str) -> list:
    return [composed(f"{group}={name}")[group] for name in options(group)]


@pytest.mark.parametrize("group", groups())
def test_every_rule_is_for_a_key_some_option_has(group):
    nodes = [n for n in _all_options(group) if n is not None]
    rules = schema(group)
    for key in rules.keys:
        if (group, key) not in ADDED_BY_USERS:
            assert any(OmegaConf.select(n, key, default="<absent>") != "<absent>" for n in nodes), f"{group}.{key}"
    for target, keys in rules.targets.items():
        having = [n for n in nodes if n.get("_target_") == target]
        assert having, f"no {group} option has _target_ {target}"
        for key in keys:
            assert any(key in n for n in having), f"{group}.{key} of {target}"


def test_the_choices_a_schema_allows_are_what_the_builders_build():
    from typing import get_args

    from lightning_fabric.connector import _PRECISION_INPUT

    from ablab.models import cnn, lenet, resnet, rnn, vgg
    from ablab.schema import model, trainer

    assert set(rnn._CELLS) == set(model.CELLS)
    assert set(vgg._CONFIGS) == set(model.VGG_DEPTHS)
    assert set(resnet._DEPTHS) == set(model.RESNET_DEPTHS)
    assert set(lenet._POOLS) == set(cnn._POOLS) == set(model.POOLS)
    literals = [a for arg in get_args(_PRECISION_INPUT) for a in (get_args(arg) or [arg])]
    assert {str(p) for p in literals if not isinstance(p, typing.TypeVar)} == set(trainer.PRECISIONS)


def test_checking_a_config_imports_no_torch():
    code = ("import sys; from hydra import compose, initialize_config_dir; from ablab.paths import CONF_DIR; "
            "from ablab.schema import validate\n"
            "with initialize_config_dir(config_dir=CONF_DIR, version_base='1.3'):\n"
            "    validate(compose('train', overrides=['data=mnist_lt', 'model=resnet', 'loss=drw']))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'pytorch_lightning')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("overrides, message", [
    ("optimizer.lr=0", "optimizer.lr=0 is not allowed: must be a number > 0"),
    ("dropout=1.0", "dropout=1.0 is not allowed: must be a number in [0, 1)"),
    ("dropout=-0.1", "dropout=-0.1 is not allowed: must be a number in [0, 1)"),
    ("data.batch_size=0", "data.batch_size=0 is not allowed: must be an integer >= 1"),
    ("data.val_fraction=1.5", "data.val_fraction=1.5 is not allowed: must be a number in (0, 1)"),
    ("data.val_fraction=0", "data.val_fraction=0 is not allowed: must be a number in (0, 1)"),
    ("data.fold=4", "data.fold=4 is not allowed"),
    ("trainer.precision=banana", "trainer.precision='banana' is not allowed: must be one of 64, 64-true"),
    ("trainer.accelerator=abacus", "trainer.accelerator='abacus' is not allowed: must be one of auto, cpu"),
    ("model=mlp model.hidden=abc", "model.hidden='abc' is not allowed: must be a list of integers >= 1"),
    ("model=mlp model.hidden=[512,-1]", "model.hidden=[512, -1] is not allowed"),
    ("model=mlp model.activations=[relu,tanh]", "model.activations=['relu', 'tanh'] is not allowed: must name one "
                                                "activation per hidden layer, 3 for model.hidden=[512, 256, 128]"),
    ("model=mlp model.activations=[relu,tanh,swisher]", "'swisher' is not an activation; choose from elu, gelu,"),
    ("trainer.max_epochs=-1", "trainer.max_epochs=-1 (no limit) cannot be combined with a schedule"),
    ("trainer.max_epochs=-2", "trainer.max_epochs=-2 is not allowed: must be an integer >= 1"),
    ("model=rnn model.cell=transformer", "model.cell='transformer' is not allowed: must be one of gru, lstm, rnn"),
    ("model=vgg model.depth=13", "model.depth=13 is not allowed: must be one of 11, 16"),
    ("model=resnet model.depth=20", "model.depth=20 is not allowed: must be one of 18, 34, 50"),
    ("model=resnet model.stem=tiny", "model.stem='tiny' is not allowed: must be one of imagenet, small"),
    ("model=lenet5 model.pool=median", "model.pool='median' is not allowed: must be one of avg, max"),
    ("model=mlp model.hidden=16", "model.hidden=16 is not allowed: must be a list of integers >= 1"),
    ("model=cnn model.head=128", "model.head=128 is not allowed: must be a list of integers >= 1"),
    ("model=rnn model.hidden=[64]", "model.hidden=[64] is not allowed: must be an integer >= 1"),
    ("model=cnn model.blocks=[{channels:8,padding:-1}]", "model.blocks: padding=-1 is not allowed: must be an integer >= 0"),
    ("model=cnn model.blocks=[{channels:8,padding:same}]", "model.blocks: padding='same' is not allowed"),
    ("model=cnn model.blocks=[{channels:8,pool:median}]", "model.blocks: pool='median' is not allowed: must be one of avg, max or null"),
    ("model=cnn model.blocks=[{channels:8,kernal:3}]", "model.blocks: unknown key(s) ['kernal']; a block has channels,"),
    ("model=cnn model.blocks=[{kernel:3}]", "has no channels"),
    ("loss=class_balanced loss.beta=1.5", "loss.beta=1.5 is not allowed: must be a number in [0, 1]"),
    ("loss=drw loss.base=hinge", "loss.base='hinge' is not allowed: must be one of ce, focal"),
    ("loss=drw loss.start_epoch=-1", "loss.start_epoch=-1 is not allowed: must be an integer >= 0"),
    ("loss=focal loss.gamma=-2", "loss.gamma=-2 is not allowed: must be a number >= 0"),
    ("loss=ce loss.label_smoothing=1", "loss.label_smoothing=1 is not allowed: must be a number in [0, 1)"),
    ("viz.draw=banana", "viz.draw='banana' is not allowed: must be one of auto, end, later"),
    ("viz.n_samples=0", "viz.n_samples=0 is not allowed: must be an integer >= 1"),
    ("optimizer=sgd_momentum optimizer.momentum=1.5", "optimizer.momentum=1.5 is not allowed: must be a number in [0, 1)"),
    ("optimizer.betas=[0.9,1.2]", "optimizer.betas=[0.9, 1.2] is not allowed: must be two numbers in [0, 1)"),
    ("norm=group norm.groups=0", "norm.groups=0 is not allowed: must be an integer >= 1"),
    ("scheduler=step scheduler.lr_scheduler.step_size=0", "scheduler.lr_scheduler.step_size=0 is not allowed"),
    ("scheduler=onecycle scheduler.lr_scheduler.pct_start=1.5", "scheduler.lr_scheduler.pct_start=1.5 is not allowed"),
    ("augment=affine augment.scale=[1.1,0.9]", "augment.scale=[1.1, 0.9] is not allowed: must be [low, high]"),
    ("augment=crop_flip augment.padding=-4", "augment.padding=-4 is not allowed: must be an integer >= 0"),
    ("regularizer=l2 regularizer.strength=-1", "regularizer.strength=-1 is not allowed: must be a number >= 0"),
    ("callbacks.divergence.check_every=0", "callbacks.divergence.check_every=0 is not allowed"),
    ("trainer.limit_train_batches=-3", "trainer.limit_train_batches=-3 is not allowed"),
    ("trainer.devices=0", "trainer.devices=0 is not allowed"),
    ("data.in_memory=maybe", "data.in_memory='maybe' is not allowed: must be true or false"),
    ("seed=-1", "seed=-1 is not allowed: must be an integer >= 0"),
    ("data=mnist_lt data.longtail.profile=zipf", "data.longtail.profile='zipf' is not allowed: must be one of none, "
                                                 "step, exponential"),
    ("data=mnist_lt +data.longtail.ratoi=5", "data.longtail.ratoi is not a long-tail option"),
    ("data=mnist_lt data.longtail.ratio=0.5", "data.longtail.ratio=0.5 is not allowed: must be a number >= 1"),
    ("data=mnist_lt data.longtail.many=10 data.longtail.few=20",
     "data.longtail.few=20 is not allowed: must be <= data.longtail.many=10"),
    ("data=mnist_lt data.longtail.oversample=yes", "data.longtail.oversample='yes' is not allowed: must be true or false"),
    ("data=mnist_lt data.longtail.noise_std=-1", "data.longtail.noise_std=-1 is not allowed"),
    ("data=mnist_lt data.longtail.oversample=true sampler=balanced", "it replaces the sampler, so keep sampler=none "
                                                                     "(got ClassBalanced)"),
    ("data=mnist_lt data.longtail.oversample=true data.in_memory=false", "needs the images in memory"),
], ids=lambda v: v if " " not in v or "=" in v.split()[0] else None)
def test_each_rule_refuses_in_one_line_naming_key_value_and_what_is_allowed(overrides, message):
    cfg = composed(*overrides.split())
    with pytest.raises(UserError) as error:
        validate(cfg)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("overrides", [
    "", "model=rnn model.hidden=64", "model=mlp model.hidden=[16]", "model=mlp model.hidden=[16,8] "
    "model.activations=[tanh,swish]", "trainer.max_epochs=-1 scheduler=step", "trainer.max_epochs=-1 "
    "+trainer.max_steps=100", "trainer.precision=bf16-mixed", "trainer=ddp trainer.accelerator=cpu trainer.devices=2",
    "model=cnn_cifar model.head=[]", "trainer.limit_train_batches=0.5",
], ids=lambda v: v or "defaults")
def test_the_rules_refuse_what_is_wrong_not_what_is_unusual(overrides):
    validate(composed(*overrides.split()))


def test_a_value_the_schema_refuses_is_one_line_and_exit_2_before_the_run_dir(tmp_path):
    from tests.conftest import run_cli

    proc = run_cli("viz.draw=banana", f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "ablab: error: viz.draw='banana' is not allowed: must be one of auto, end, later"]
    assert not (tmp_path / "run").exists()


def test_eval_checks_its_trainer_and_viz_before_loading_the_checkpoint(tmp_path):
    from tests.conftest import run_cli

    proc = run_cli("ckpt_path=nowhere.ckpt", "trainer.precision=banana", f"hydra.run.dir={tmp_path}/run",
                   script="eval.py")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("ablab: error: trainer.precision='banana' is not allowed")
