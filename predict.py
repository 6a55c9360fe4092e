"""Predict the classes of new images with a trained checkpoint; writes predictions.csv. See README.md.

    python predict.py ckpt_path=<ckpt> input=digit.png          # one image
    python predict.py ckpt_path=<ckpt> input=photos/            # a folder of images
    python predict.py ckpt_path=<ckpt> input=test.csv output=submission.csv   # Kaggle digit-recognizer CSV

The same command is installed as `ablab-predict`.
"""
from ablab.commands import predict

if __name__ == "__main__":
    predict()
