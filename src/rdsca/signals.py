"""SIGTERM and SIGHUP as interruptions, remembered so that a swallowed one still stops a run.

A Python signal handler that raises can fire anywhere, also inside a weakref callback or a
`__del__`, where the exception is printed and ignored ("Exception ignored in ..."). The signal is
therefore also remembered here, and the executor calls `check()` at each poll and wave boundary:
an interruption that was swallowed stops the run at the next one.
"""

from __future__ import annotations

from rdsca.errors import Interrupted

_pending: int | None = None


def interrupt(signum: int) -> None:
    """Remember `signum` and raise it as an interruption (a signal handler's body)."""
    global _pending
    _pending = signum
    raise Interrupted(signum)


def check() -> None:
    """Raise the remembered interruption, if a signal came and was not acted on yet."""
    global _pending
    if _pending is not None:
        signum, _pending = _pending, None
        raise Interrupted(signum)


def clear() -> None:
    global _pending
    _pending = None
