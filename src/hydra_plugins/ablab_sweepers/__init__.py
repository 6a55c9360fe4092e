"""ablab's Hydra sweepers, found by Hydra's scan of the `hydra_plugins` namespace."""
