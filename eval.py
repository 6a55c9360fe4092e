"""Evaluate a trained checkpoint on a test split: metrics (eval.json) and figures. See README.md.

    python eval.py ckpt_path=outputs/<date>/<time>/checkpoints/best.ckpt
    python eval.py ckpt_path=<ckpt> data=mnist data.root=./data
"""
from ablab.cli import hydra_entry


@hydra_entry(config_name="eval")
def main(cfg):
    from ablab.evaluate import evaluate  # imported inside: `--help` and config errors stay fast

    return evaluate(cfg)


if __name__ == "__main__":
    main()
