"""Measures computed from per-class results (shot groups for long-tailed runs)."""
