"""Run rdsca's CLI and SIGKILL it at a chosen point of the executor: a real crash, not a timing guess.

    python tests/support/crash.py EVENT:N rdsca-args...

EVENT is a journal event (`rdsca.rollout.events.Event`) or `modify-sent` (AWS answered, nothing
journalled yet); the process kills itself right after the N-th one. The product has no such hook:
this wrapper injects the executor's `on_event` callback, which the product leaves empty.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from rdsca.rollout import executor

COMMAND = [sys.executable, __file__]


def install(spec: str) -> None:
    event, _, n = spec.partition(":")
    limit, seen = int(n or 1), [0]

    def on_event(name: str) -> None:
        if name == event:
            seen[0] += 1
            if seen[0] == limit:
                os.kill(os.getpid(), signal.SIGKILL)

    original = executor.Executor.__init__

    def init(self: executor.Executor, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.on_event = on_event

    executor.Executor.__init__ = init  # type: ignore[method-assign]


if __name__ == "__main__":
    install(sys.argv[1])
    from rdsca.cli.app import main

    sys.exit(main(sys.argv[2:]))
