"""Reference studies: several Hydra sweeps (stages) run by one command, one combined report.

A study is a YAML file in conf/study/ (spec.py reads it); each stage is one ordinary
`train.py -m` sweep (a grid, OFAT or greedy OFAT) whose winner can be carried into
later stages (stages.py); `ablab-study NAME --dry-run` lists every job without training
(plan.py); the stages' own reports and the study's tables land in one report.md
(tables.py, report.py).
"""
