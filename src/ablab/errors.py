"""Errors that are the user's to fix: they end a run with one line and exit code 2."""


class UserError(Exception):
    """A bad option, value or input file. The message is the whole story: one line."""


class DataError(UserError):
    """Data missing, not downloadable, or corrupt. The message names the path."""
