"""What a `data.longtail` config node asks for: a profile, shot thresholds, oversampling.

One node holds every long-tail key, so any of them is one CLI override
(`data.longtail.ratio=50`, `data.longtail.profile=step`, `data.longtail.oversample=true`).
`parse` keeps the options the chosen profile takes (the step keys are simply unused
under `exponential`, and the other way round), checks every value, and turns a mistake
into one line naming the key.
"""
from dataclasses import dataclass, field

from ablab.data.longtail import PROFILES, longtail_counts
from ablab.data.oversample import CopyAugment
from ablab.data.sampling import Shuffle
from ablab.errors import UserError

PROFILE_KEYS = {"none": (), "step": ("classes", "fraction"), "exponential": ("ratio", "n_max")}
KEYS = ("profile", "ratio", "n_max", "classes", "fraction", "many", "few", "oversample", "noise_std", "flip")


@dataclass
class LongTail:
    profile: str
    selection: dict = field(default_factory=dict)  # keyword arguments of select_longtail: profile and its options
    many: int = 100  # many-shot classes have more training images than this
    few: int = 20  # few-shot classes have fewer
    oversample: CopyAugment | None = None  # augment for the tail; None: off

    @property
    def tail_classes(self) -> list[int] | None:
        """The reduced classes of a step profile (reported as head / tail); None for other profiles."""
        return list(self.selection["classes"]) if self.profile == "step" else None


def _get(node: dict, key: str, default):
    """A key left out or set to null takes its default."""
    value = node.get(key)
    return default if value is None else value


def _key(name: str, value, allowed: str) -> UserError:
    return UserError(f"data.longtail.{name}={value!r} is not allowed: must be {allowed}")


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse(node: dict, num_classes: int, sampler=None, streamed: bool = False) -> LongTail:
    """Check `node` (the data.longtail dict) and resolve its defaults for `num_classes` classes.

    `sampler` and `streamed` (images read from disk per sample, not held as one tensor)
    are what oversampling cannot be combined with.
    """
    node = dict(node)
    if unknown := sorted(set(node) - set(KEYS)):
        raise UserError(f"data.longtail.{unknown[0]} is not a long-tail option; known: {', '.join(KEYS)}")
    profile = _get(node, "profile", "exponential")
    if profile not in PROFILES:
        raise _key("profile", profile, f"one of {', '.join(PROFILES)}")
    options = {"profile": profile, **{k: node[k] for k in PROFILE_KEYS[profile] if node.get(k) is not None}}
    try:
        if profile == "step":
            # No list given: the first half of the classes become the tail (0-4 of ten).
            options["classes"] = [int(c) for c in options.get("classes", range(num_classes // 2))]
        longtail_counts([1] * num_classes, **options)  # the profile's own checks
    except (TypeError, ValueError) as exc:
        raise UserError(f"data.longtail: {exc}") from None
    many, few = _get(node, "many", 100), _get(node, "few", 20)
    for name, value in (("many", many), ("few", few)):
        if not (_integer(value) and value >= 0):
            raise _key(name, value, "an integer >= 0 (a number of training images)")
    if few > many:
        raise _key("few", few, f"<= data.longtail.many={many}")
    oversample = _oversampling(node)
    if oversample is not None and streamed:
        raise UserError("data.longtail.oversample=true needs the images in memory: set data.in_memory=true")
    if oversample is not None and sampler is not None and type(sampler) is not Shuffle:
        raise UserError(f"data.longtail.oversample=true already balances the classes; it replaces the "
                        f"sampler, so keep sampler=none (got {type(sampler).__name__})")
    return LongTail(profile, options, int(many), int(few), oversample)


def _oversampling(node: dict) -> CopyAugment | None:
    on, noise_std, flip = _get(node, "oversample", False), _get(node, "noise_std", 0.05), _get(node, "flip", True)
    for name, value in (("oversample", on), ("flip", flip)):
        if not isinstance(value, bool):
            raise _key(name, value, "true or false")
    if not (isinstance(noise_std, (int, float)) and not isinstance(noise_std, bool) and noise_std >= 0):
        raise _key("noise_std", noise_std, "a number >= 0 (pixel units, images in [0, 1])")
    return CopyAugment(noise_std=float(noise_std), flip=flip) if on else None
