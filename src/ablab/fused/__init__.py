"""Fused training: a sweep's jobs that differ only in stackable values, trained as one model
on one device (`hydra/launcher=fused`, hydra_plugins.ablab_launchers.fused_launcher)."""
