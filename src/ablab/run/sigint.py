"""Whether the user pressed Ctrl-C in this process.

Lightning turns Ctrl-C during fit into sys.exit(1), and a Ctrl-C that lands inside a write
(torch's zip writer) surfaces as a RuntimeError: neither says "interrupted" by itself. The
entry point installs `watch()`; code that ends a run asks `seen()` before calling a failure
a failure.
"""
import signal

_seen = False


def watch() -> None:
    def handler(signum, frame):
        global _seen
        _seen = True
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, handler)


def seen() -> bool:
    return _seen
