"""CLI: `python -m ablab.viz DIR...` / `ablab-figures DIR...`: draw the figures a run saved for later.

A -m sweep's jobs save their end-of-test figure data as figures/figures.pt (and, on
long-tailed data, figures/longtail.pt) instead of drawing (viz.draw=auto); this draws
every such run below each DIR (a run, a sweep or a study directory) into its
figures/*.png and its TensorBoard run, and says how many.
"""
import argparse
import sys
from pathlib import Path

from ablab.errors import USER_ERROR, say
from ablab.paths import shown


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ablab-figures", description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="run, sweep or study directories")
    args = parser.parse_args(argv)
    missing = [d for d in args.dirs if not d.is_dir()]
    if missing:
        say(f"no such directory: {shown(missing[0])}")
        return USER_ERROR
    from ablab.viz.draw import draw_deferred  # torch and matplotlib: after the arguments are known good

    for root in args.dirs:
        drawn = draw_deferred(root)
        what = f"drew the figures of {len(drawn)} run{'' if len(drawn) == 1 else 's'}" if drawn else \
            "no run here has figures waiting to be drawn (figures/figures.pt or longtail.pt)"
        print(f"ablab: {shown(root)}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
