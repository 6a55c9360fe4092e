"""Resuming, in one place: what a job left in its directory before (earlier.py), which
checkpoint a run continues from (start.py), and the run-level state its callbacks keep
across parts (state.py)."""
