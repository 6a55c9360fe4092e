"""Schema of conf/model: sizes every model may have, the keys of each architecture (by its
`_target_`), the CNN's block list, and one activation per hidden layer (model.activations).

The choices (RNN cells, VGG and ResNet depths, pools) are declared here and the model
files build from them; tests/test_schema.py keeps the two in step.
"""
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ablab.errors import UserError
from ablab.schema.rules import Schema, boolean, integer, list_of, number, one_of, plain

CELLS = ("gru", "lstm", "rnn")
VGG_DEPTHS = (11, 16)
RESNET_DEPTHS = (18, 34, 50)
RESNET_STEMS = ("imagenet", "small")
POOLS = ("avg", "max")
BLOCK_KEYS = ("channels", "kernel", "stride", "padding", "pool", "dropout")

LAYER_SIZES = list_of(integer(ge=1), "a list of integers >= 1, e.g. [512,256]")


def activation_options() -> list[str]:
    """The activation config group's options: the names of conf/activation/*.yaml."""
    from ablab.paths import CONF_DIR

    return sorted(p.stem for p in (Path(CONF_DIR) / "activation").glob("*.yaml"))


def activation_names(model: DictConfig) -> list[str] | None:
    """model.activations (the MLP's): null, or one activation option per entry of model.hidden.
    Returns the names; ablab.factors.build resolves them to factories."""
    names, hidden = plain(model.get("activations")), plain(model.get("hidden"))
    if names is None:
        return None
    allowed = activation_options()
    bad = f"model.activations={names!r} is not allowed"
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"{bad}: must be a list of activation names, one per hidden layer, e.g. [relu,tanh], "
                        f"from {', '.join(allowed)}")
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise UserError(f"{bad}: {unknown[0]!r} is not an activation; choose from {', '.join(allowed)}")
    if not isinstance(hidden, list):
        raise UserError(f"{bad}: only a model with a list of hidden layers (model=mlp's model.hidden) "
                        "takes one activation per layer")
    if len(names) != len(hidden):
        raise UserError(f"{bad}: must name one activation per hidden layer, {len(hidden)} for "
                        f"model.hidden={hidden!r}, from {', '.join(allowed)}")
    return names


BLOCK = {
    "channels": integer(ge=1),
    "kernel": integer(ge=1),
    "stride": integer(ge=1),
    "padding": integer(ge=0, allowed="an integer >= 0 (0 for a 'valid' conv) or null for kernel // 2"),
    "pool": one_of(*POOLS, allowed=f"one of {', '.join(POOLS)} or null"),
    "dropout": number(ge=0, lt=1),
}


def _cnn_blocks(cfg: DictConfig) -> None:
    blocks = plain(OmegaConf.select(cfg, "model.blocks", default=None))
    if blocks is None:
        return
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise UserError(f"model.blocks={blocks!r} is not allowed: must be a list of blocks, "
                        "e.g. [{channels: 32, kernel: 3, pool: max}]")
    for block in blocks:
        if unknown := sorted(set(block) - set(BLOCK_KEYS)):
            raise UserError(f"model.blocks: unknown key(s) {unknown}; a block has {', '.join(BLOCK_KEYS)}")
        if block.get("channels") is None:
            raise UserError(f"model.blocks: {block} has no channels; every block needs channels: <integer >= 1>")
        for key, value in block.items():
            if value is not None and not BLOCK[key].ok(value):
                raise UserError(f"model.blocks: {key}={value!r} is not allowed: must be {BLOCK[key].allowed}")


def _activations(cfg: DictConfig) -> None:
    activation_names(cfg.model)


SCHEMA = Schema(
    # head: the dense layers before the classifier ([] for none); channels_last: NHWC weights
    keys={"head": LAYER_SIZES, "channels_last": boolean()},
    targets={
        "ablab.models.mlp.MLP": {"hidden": LAYER_SIZES},
        "ablab.models.rnn.RNN": {
            "cell": one_of(*CELLS),
            "hidden": integer(ge=1),
            "layers": integer(ge=1),
            "bidirectional": boolean(),
        },
        "ablab.models.cnn.CNN": {"block_dropout": number(ge=0, lt=1), "global_pool": boolean()},
        "ablab.models.lenet.LeNet5": {"pool": one_of(*POOLS)},
        "ablab.models.vgg.VGG": {"depth": one_of(*VGG_DEPTHS)},
        "ablab.models.resnet.ResNet": {"depth": one_of(*RESNET_DEPTHS), "stem": one_of(*RESNET_STEMS),
                                       "width": integer(ge=1)},
    },
    checks=(_cnn_blocks, _activations),
)
