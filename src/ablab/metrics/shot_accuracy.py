"""Shot-group accuracy of a long-tailed run: the numbers results.json's `<split>.shots` and the
long-tail report (ablab.viz.longtail_report) show."""
from ablab.metrics.shots import head_tail, shot_groups


def shot_group(count: int, many: int, few: int) -> str:
    """The group of a class with `count` training images (the thresholds of shot_groups)."""
    return "many" if count > many else "few" if count < few else "medium"


def shots(train_counts, per_class_acc, many: int = 100, few: int = 20, tail_classes=None) -> dict[str, float]:
    """Shot-group accuracies, plus head / tail when the tail classes are known (step profiles)."""
    out = shot_groups(train_counts, per_class_acc, many, few)
    if tail_classes is not None:
        out.update(head_tail(per_class_acc, tail_classes))
    return {k: round(v, 6) for k, v in out.items()}


def split_shots(evaluation, datamodule) -> dict[str, float] | None:
    """The shot groups' accuracy of one split's `Evaluation`; None unless the data is long-tailed."""
    options = getattr(datamodule, "longtail_options", None)
    if options is None:
        return None
    return shots(datamodule.train_counts, evaluation.per_class_acc, options.many, options.few, options.tail_classes)
