"""Errors that are the user's to fix, and how every command ends: one `ablab: error:` line
and an exit code from this list."""
import sys

OK = 0
FAILED = 1  # a failed sweep job, or a bug (its traceback in the job's log)
USER_ERROR = 2  # a bad option, value, path or input file
INTERRUPTED = 130  # the shell's code for a process ended by SIGINT


class UserError(Exception):
    """A bad option, value or input file. The message is the whole story: one line."""


class DataError(UserError):
    """Data missing, not downloadable, or corrupt. The message names the path."""


def say(message: str) -> None:
    """The one-line form of every error ablab reports."""
    print(f"ablab: error: {message}", file=sys.stderr, flush=True)


def fail(message: str, code: int = USER_ERROR):
    """Report `message` in one line and end the process with `code`."""
    say(message)
    sys.exit(code)
