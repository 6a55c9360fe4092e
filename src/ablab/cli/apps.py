"""The Hydra apps: train, evaluate and predict, each its run function under hydra_entry.
The console commands (ablab.commands) and the study runner (ablab.study.runner) call
these same apps, so a study's stage runs exactly as `train.py -m ...` would. Each imports
its work inside the function, so `--help` and config errors are answered before torch loads."""
from ablab.cli.entry import hydra_entry


@hydra_entry(config_name="train")
def train(cfg):
    from ablab.run.train import train as run

    return run(cfg)


@hydra_entry(config_name="eval")
def evaluate(cfg):
    from ablab.run.evaluate import evaluate as run

    return run(cfg)


@hydra_entry(config_name="predict")
def predict(cfg):
    from ablab.run.predict import predict as run

    run(cfg)
