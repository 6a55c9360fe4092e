"""What a checked `data.longtail` config node asks for: a profile, shot thresholds, oversampling.

One node holds every long-tail key, so any of them is one CLI override
(`data.longtail.ratio=50`, `data.longtail.profile=step`, `data.longtail.oversample=true`).
Its values are checked before data loads by the data group's schema (ablab.schema.data);
`parse` keeps the options the chosen profile takes (the step keys are simply unused under
`exponential`, and the other way round), fills in the defaults, and checks only what
needs the data: the step profile's classes against the dataset's class count.
"""
from dataclasses import dataclass, field

from ablab.data.longtail_subset import longtail_counts
from ablab.data.oversample import CopyAugment
from ablab.errors import UserError
from ablab.schema.data import PROFILE_KEYS, SHOTS


@dataclass
class LongTail:
    profile: str
    selection: dict = field(default_factory=dict)  # keyword arguments of select_longtail: profile and its options
    many: int = SHOTS["many"]  # many-shot classes have more training images than this
    few: int = SHOTS["few"]  # few-shot classes have fewer
    oversample: CopyAugment | None = None  # augment for the tail; None: off

    @property
    def tail_classes(self) -> list[int] | None:
        """The reduced classes of a step profile (reported as head / tail); None for other profiles."""
        return list(self.selection["classes"]) if self.profile == "step" else None


def _get(node: dict, key: str, default):
    """A key left out or set to null takes its default."""
    value = node.get(key)
    return default if value is None else value


def parse(node: dict, num_classes: int) -> LongTail:
    """Resolve `node` (the data.longtail dict, checked by ablab.schema.data) for `num_classes` classes."""
    node = dict(node)
    profile = _get(node, "profile", "exponential")
    options = {"profile": profile, **{k: node[k] for k in PROFILE_KEYS[profile] if node.get(k) is not None}}
    try:
        if profile == "step":
            # No list given: the first half of the classes become the tail (0-4 of ten).
            options["classes"] = [int(c) for c in options.get("classes", range(num_classes // 2))]
        longtail_counts([1] * num_classes, **options)  # the profile's own checks, e.g. classes within the count
    except (TypeError, ValueError) as exc:
        raise UserError(f"data.longtail: {exc}") from None
    copies = None
    if _get(node, "oversample", False):
        copies = CopyAugment(noise_std=float(_get(node, "noise_std", 0.05)), flip=_get(node, "flip", True))
    return LongTail(profile, options, int(_get(node, "many", SHOTS["many"])), int(_get(node, "few", SHOTS["few"])),
                    copies)
