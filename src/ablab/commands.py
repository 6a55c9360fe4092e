"""The commands, as console scripts (ablab-train, ablab-eval, ablab-predict, ablab-study) and
as what the repository's train.py, eval.py and predict.py call."""
import sys

from ablab.cli import apps

evaluate = apps.evaluate
predict = apps.predict


def train():
    """train.py: one run or a sweep; `train.py -m study=NAME` runs a whole study (ablab-study)."""
    if any(a.startswith("study=") for a in sys.argv[1:]):
        sys.exit(study(from_train=True))
    apps.train()


def study(from_train: bool = False) -> int:
    from ablab.study.__main__ import from_train_argv, main

    return main(from_train_argv(sys.argv[1:]) if from_train else None)
