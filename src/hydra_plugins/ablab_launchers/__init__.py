"""ablab's Hydra launchers, found by Hydra's scan of the `hydra_plugins` namespace."""
