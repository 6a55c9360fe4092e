"""The three commands, as console scripts (ablab-train, ablab-eval, ablab-predict) and as
what the repository's train.py, eval.py and predict.py call. Each imports its work
inside the function, so `--help` and config errors are answered before torch loads."""
from ablab.cli import hydra_entry


@hydra_entry(config_name="train")
def train(cfg):
    from ablab.run import train as run

    return run(cfg)


@hydra_entry(config_name="eval")
def evaluate(cfg):
    from ablab.evaluate import evaluate as run

    return run(cfg)


@hydra_entry(config_name="predict")
def predict(cfg):
    from ablab.predict import predict as run

    run(cfg)
