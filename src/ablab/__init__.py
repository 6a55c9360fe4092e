"""ablab: an ablation lab for image classifiers."""
