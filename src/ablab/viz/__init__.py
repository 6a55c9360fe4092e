"""Figures of a run: pure figure functions (images, charts, weights) and the Lightning
callback that feeds them at the end of test and writes them to TensorBoard and figures/."""
