"""Public names of a package that live in its submodules, imported when first used, so that
`import ablab` (which every command does before its config check) stays free of torch."""
import importlib


def exports(package: str, where: dict[str, str]):
    """A module `__getattr__` (PEP 562) for `package`: name -> the submodule that defines it."""

    def __getattr__(name: str):
        if name in where:
            return getattr(importlib.import_module(where[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
