"""One run's lifecycle: the recipe (train.py), evaluation and prediction from a checkpoint,
the Lightning callbacks a run carries, results.json, checkpoints, resuming, the job's lock,
and where it runs (devices, DDP)."""
