"""Predict the classes of new images with a trained checkpoint; writes predictions.csv. See README.md.

    python predict.py ckpt_path=<ckpt> input=digit.png          # one image
    python predict.py ckpt_path=<ckpt> input=photos/            # a folder of images
    python predict.py ckpt_path=<ckpt> input=test.csv output=submission.csv   # Kaggle digit-recognizer CSV
"""
from ablab.cli import hydra_entry


@hydra_entry(config_name="predict")
def main(cfg):
    from ablab.predict import predict  # imported inside: `--help` and config errors stay fast

    predict(cfg)


if __name__ == "__main__":
    main()
