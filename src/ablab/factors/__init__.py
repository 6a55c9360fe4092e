"""Builders that turn one factor's config into an object. The factories a model takes are
public: `norm.batch` / `layer` / `group` / `none` (norm(channels, spatial)), the initialisations
in `init`, the losses in `losses`, the weight penalties in `penalty`, the lr schedules in `schedule`."""
__all__ = ["norm", "init", "losses", "penalty", "schedule"]
