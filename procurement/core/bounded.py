"""Running untrusted work in a child process bounded in wall-clock time and memory.

An uploaded contract template is a program (Jinja loops): the sandbox stops it from
reaching code or files, but not from looping for hours or filling the memory of the web
worker. ``run`` calls a function in a child process forked from a small, single-threaded
fork server (multiprocessing's "forkserver": the server imports the modules once, so a
child starts in milliseconds, and it is never forked from a web worker that holds threads
and database connections). The child's address space is capped with ``RLIMIT_AS`` (an
allocation beyond it fails with MemoryError), its CPU time with ``RLIMIT_CPU`` (should the
parent vanish), and the parent kills it when the time is up.
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

MB = 1024 * 1024
# How long a child may take to start (the fork server imports the modules on first use).
START_SECONDS = 120

_lock = threading.Lock()
_context: Any = None


@dataclass(frozen=True)
class Limits:
    seconds: float
    memory_mb: int


class LimitExceeded(Exception):
    """The child ran out of time (``kind == "time"``) or memory (``"memory"``)."""

    def __init__(self, kind: Literal["time", "memory"], limits: Limits) -> None:
        self.kind = kind
        self.limits = limits
        super().__init__(
            f"stopped after {limits.seconds:g} s"
            if kind == "time"
            else f"stopped at {limits.memory_mb} MB of memory"
        )


def context(preload: tuple[str, ...]) -> Any:
    """The fork-server context, whose server imports ``preload`` once."""
    global _context
    with _lock:
        if _context is None:
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(list(preload))
        return _context


def _child(sender: Connection, limits: Limits, function: Callable, args: tuple) -> None:
    """In the child: cap memory and CPU, say it started, run, send the outcome."""
    memory = limits.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(limits.seconds) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    sender.send(("started", None))
    try:
        outcome: tuple[str, Any] = ("ok", function(*args))
    except MemoryError:
        outcome = ("memory", None)
    except BaseException as error:  # noqa: BLE001 - handed to the parent to raise
        outcome = ("error", error)
    try:
        sender.send(outcome)
    except MemoryError:
        sender.send(("memory", None))
    except Exception as error:  # noqa: BLE001 - e.g. an exception that cannot be pickled
        sender.send(("error", RuntimeError(f"{type(error).__name__}: {error}")))
    sender.close()


def run(function: Callable, *args: Any, limits: Limits) -> Any:
    """``function(*args)`` in a bounded child process: its result, or its exception raised
    here, or LimitExceeded. ``function``, its arguments, result and exceptions must be
    picklable (a function at module level, plain data)."""
    ctx = context((function.__module__,))
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, limits, function, args), daemon=False)
    process.start()
    sender.close()
    try:
        try:
            if not receiver.poll(START_SECONDS):
                raise RuntimeError("the render process did not start")
            receiver.recv()  # "started": the time limit counts from here
            if not receiver.poll(limits.seconds):
                raise LimitExceeded("time", limits)
            status, value = receiver.recv()
        except EOFError:
            # The child died without a word: an allocation failed where Python could not
            # raise MemoryError (inside a C library), or the CPU limit struck.
            raise LimitExceeded("memory", limits) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    if status == "memory":
        raise LimitExceeded("memory", limits)
    if status == "error":
        raise value
    return value
