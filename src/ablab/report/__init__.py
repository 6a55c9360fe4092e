"""Sweep reports: `python -m ablab.report <sweep dir>` (or `ablab-report`) reads the jobs'
results.json files and writes report.md, report.csv and report.png into the sweep dir."""
