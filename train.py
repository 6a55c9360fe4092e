"""Train one image classifier, or sweep a factor with -m. See README.md.

    python train.py model=cnn data=emnist
    python train.py -m optimizer=sgd,adam,rmsprop
"""
from ablab.cli import hydra_entry


@hydra_entry(config_name="train")
def main(cfg):
    from ablab.run import train  # imported inside: `--help` and config errors stay fast

    return train(cfg)


if __name__ == "__main__":
    main()
