"""Evaluate a trained checkpoint on a test split: metrics (eval.json) and figures. See README.md.

    python eval.py ckpt_path=outputs/<date>/<time>/checkpoints/best.ckpt
    python eval.py ckpt_path=<ckpt> data=mnist data.root=./data

The same command is installed as `ablab-eval`.
"""
from ablab.commands import evaluate

if __name__ == "__main__":
    evaluate()
