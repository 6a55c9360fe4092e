"""Train one image classifier, or sweep a factor with -m. See README.md.

    python train.py                                  # the embedded MNIST sample, offline
    python train.py model=cnn data=emnist
    python train.py -m optimizer=sgd,adam,rmsprop

The same command is installed as `ablab-train`.
"""
from ablab.commands import train

if __name__ == "__main__":
    train()
