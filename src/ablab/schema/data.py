"""Schema of conf/data: the keys every dataset shares (data/base/image.yaml), the long-tail
node (data/longtail/*.yaml) and what depends on other values (a fold within the folds, a
folder of your own images that is there, oversampling that replaces the sampler).

The long tail's profiles and keys are declared here; ablab.data.longtail_options resolves
a checked node and only checks what needs the data (step classes within the class count).
"""
from pathlib import Path

from omegaconf import DictConfig

from ablab.errors import UserError
from ablab.schema.rules import Rule, Schema, boolean, integer, is_integer, list_of, not_allowed, number, one_of, plain

PROFILES = ("none", "step", "exponential")
PROFILE_KEYS = {"none": (), "step": ("classes", "fraction"), "exponential": ("ratio", "n_max")}
LONGTAIL_KEYS = ("profile", "ratio", "n_max", "classes", "fraction", "many", "few", "oversample", "noise_std", "flip")
SHOTS = {"many": 100, "few": 20}  # the shot thresholds a node that leaves them out takes


def _fold_within_folds(cfg: DictConfig) -> None:
    folds, fold = cfg.data.get("folds", 1), cfg.data.get("fold", 0)
    if not (is_integer(fold) and 0 <= fold < max(folds, 1)):
        raise UserError(f"data.fold={fold!r} is not allowed: must be an integer in [0, data.folds={folds})")


def _folder_is_there(cfg: DictConfig) -> None:
    if str(cfg.data.get("_target_", "")).endswith("ImageFolderDataModule"):  # your own images: they must be there
        root = Path(str(cfg.data.root)).expanduser()
        if not (root / "train").is_dir():
            raise UserError(f"data.root={cfg.data.root!r} has no train/ folder; data=folder reads "
                            "<data.root>/train/<class name>/<image files>")


def _longtail(cfg: DictConfig) -> None:
    node = plain(cfg.data.get("longtail"))
    if node is None:
        return
    if unknown := sorted(set(node) - set(LONGTAIL_KEYS)):
        raise UserError(f"data.longtail.{unknown[0]} is not a long-tail option; known: {', '.join(LONGTAIL_KEYS)}")
    many = node.get("many") if node.get("many") is not None else SHOTS["many"]
    few = node.get("few") if node.get("few") is not None else SHOTS["few"]
    if few > many:
        raise not_allowed("data.longtail.few", few, f"<= data.longtail.many={many}")
    if node.get("oversample"):
        if cfg.data.get("in_memory") is False:
            raise UserError("data.longtail.oversample=true needs the images in memory: set data.in_memory=true")
        sampler = str(cfg.get("sampler", {}).get("_target_") or "ablab.data.sampling.Shuffle")
        if sampler != "ablab.data.sampling.Shuffle":
            raise UserError(f"data.longtail.oversample=true already balances the classes; it replaces the "
                            f"sampler, so keep sampler=none (got {sampler.rsplit('.', 1)[-1]})")


SCHEMA = Schema(
    keys={
        "batch_size": integer(ge=1),
        "eval_batch_size": integer(ge=1),
        "val_fraction": number(gt=0, lt=1),
        "test_fraction": number(ge=0, lt=1),
        "folds": integer(ge=1),
        "cache": boolean(),
        "in_memory": boolean(),
        "download": boolean(),
        "num_workers": integer(ge=0),
        "channels": one_of(1, 3),
        "image_size": Rule(lambda v: isinstance(v, list) and len(v) == 2 and all(is_integer(x) and x >= 1 for x in v),
                           "[height, width] in pixels, e.g. [32,32]"),
        "longtail.profile": one_of(*PROFILES),
        "longtail.ratio": number(ge=1, allowed="a number >= 1 (head / tail size)"),
        "longtail.n_max": integer(ge=1),
        "longtail.classes": list_of(integer(ge=0), "a list of class indices, e.g. [0,1,2,3,4]"),
        "longtail.fraction": number(ge=0, le=1),
        "longtail.many": integer(ge=0, allowed="an integer >= 0 (a number of training images)"),
        "longtail.few": integer(ge=0, allowed="an integer >= 0 (a number of training images)"),
        "longtail.oversample": boolean(),
        "longtail.flip": boolean(),
        "longtail.noise_std": number(ge=0, allowed="a number >= 0 (pixel units, images in [0, 1])"),
    },
    checks=(_fold_within_folds, _folder_is_there, _longtail),
)
