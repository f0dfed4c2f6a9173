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
from multiprocessing import spawn
from multiprocessing.connection import Connection
from typing import Any, Literal

MB = 1024 * 1024
# How long a child may take to start (the fork server imports the modules on first use).
START_SECONDS = 120

CHILD_NAME = "procurement-bounded"

_lock = threading.Lock()
_context: Any = None
_get_preparation_data = spawn.get_preparation_data


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


def _preparation_without_main(name: str) -> dict:
    """multiprocessing's preparation of a child, without the main module for ours.

    A multiprocessing child imports the parent's main module again (for functions defined
    there), for every child: gunicorn's or pytest's script, at each render. Ours run only
    functions of the package, so they skip it."""
    data = _get_preparation_data(name)
    if name == CHILD_NAME:
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


def context(preload: tuple[str, ...]) -> Any:
    """The fork-server context, whose server imports ``preload`` once."""
    global _context
    with _lock:
        if _context is None:
            spawn.get_preparation_data = _preparation_without_main
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(list(preload))
        return _context


def _lower_limit(which: int, soft: int, hard: int) -> None:
    """Set a resource limit, never above one the system already imposes."""
    _soft, current = resource.getrlimit(which)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(which, (soft, hard))


def _child(sender: Connection, limits: Limits, function: Callable, args: tuple) -> None:
    """In the child: cap memory and CPU, say it started, run, send the outcome."""
    memory = limits.memory_mb * MB
    _lower_limit(resource.RLIMIT_AS, memory, memory)
    cpu = math.ceil(limits.seconds) + 5
    _lower_limit(resource.RLIMIT_CPU, cpu, cpu + 5)
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
    picklable (a function at module level of a package module, not of ``__main__``;
    plain data)."""
    ctx = context((function.__module__,))
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_child, args=(sender, limits, function, args), name=CHILD_NAME, daemon=False
    )
    process.start()
    sender.close()
    try:
        try:
            if not receiver.poll(START_SECONDS):
                raise RuntimeError("the bounded child process did not start")
            receiver.recv()  # "started": the time limit counts from here
        except EOFError:
            raise RuntimeError("the bounded child process could not start") from None
        try:
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
