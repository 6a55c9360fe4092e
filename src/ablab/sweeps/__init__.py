"""Sweep planning that Hydra's sweepers delegate to (kept free of heavy imports)."""
