"""ablab: an ablation lab for image classifiers."""
from ablab.quiet import silence_known_noise

silence_known_noise()
