"""Builders that turn one factor's config into an object (norm, init, loss, penalty, ...)."""
