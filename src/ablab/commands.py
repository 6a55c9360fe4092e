"""The commands, as console scripts (ablab-train, ablab-eval, ablab-predict, ablab-study) and
as what the repository's train.py, eval.py and predict.py call. Each imports its work
inside the function, so `--help` and config errors are answered before torch loads."""
import sys

from ablab.cli import hydra_entry


def train():
    """train.py: one run or a sweep; `train.py -m study=NAME` runs a whole study (ablab-study)."""
    if any(a.startswith("study=") for a in sys.argv[1:]):
        sys.exit(study(from_train=True))
    _train()


@hydra_entry(config_name="train")
def _train(cfg):
    from ablab.run import train as run

    return run(cfg)


def study(from_train: bool = False) -> int:
    from ablab.study.__main__ import from_train_argv, main

    return main(from_train_argv(sys.argv[1:]) if from_train else None)


@hydra_entry(config_name="eval")
def evaluate(cfg):
    from ablab.evaluate import evaluate as run

    return run(cfg)


@hydra_entry(config_name="predict")
def predict(cfg):
    from ablab.predict import predict as run

    run(cfg)
