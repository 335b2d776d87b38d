"""The output's lock: while an export runs, no other export may touch its files.

``FILE.lock`` is held with ``fcntl.flock`` (exclusive, non-blocking) for the whole export, from
before the checkpoint is read until after the final rename. The kernel releases a flock when its
holder dies however it dies (kill -9, a crash, a lost machine's NFS lease), so a lock left behind
by a dead process is never mistaken for a live one and needs no guess from a pid that may have
been reused or may belong to another host; a file created with ``O_EXCL`` would need exactly that
guess. The file's content (pid, host, start time) only names the holder in the refusal message.

The holder removes the file when it is done, and a newcomer checks that the file it locked is
still the one at the path (the holder may have removed it between the newcomer's open and its
lock), so two processes never both believe they hold it.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import orjson

from .._logs import logger

__all__ = ["Held", "OutputLock", "acquire"]


class Held(Exception):
    """Another live process (or another export in this one) holds the lock; ``holder`` names it."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class OutputLock:
    """A held lock: :meth:`release` removes the file and lets the next export in."""

    def __init__(self, path: Path, fd: int, *, previous: str | None) -> None:
        self.path = path
        self._fd: int | None = fd  # the open, flocked lock file; None once released
        self.previous = previous  # the holder a dead process's leftover file named, if any

    def release(self) -> None:
        """Remove the lock file, then unlock it (in that order: see the module docstring)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock


def _identity() -> bytes:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return orjson.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started})


def describe_holder(data: bytes) -> str:
    """``pid 4242 on host build-7 since 2026-12-03T09:10:00Z`` from a lock file's content."""
    try:
        holder = orjson.loads(data)
        return f"pid {holder['pid']} on host {holder['host']} since {holder['started']}"
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "a process that has not yet written its name"  # it has opened but not yet written


def _read(fd: int) -> bytes:
    return os.pread(fd, 4096, 0)


def acquire(path: Path) -> OutputLock:
    """Take the lock at ``path``, or raise :class:`Held` at once naming its holder.

    A file left by a dead holder is unlocked, so it is taken over (and logged). OSError when the
    file cannot be created (the directory is missing or not writable).
    """
    import fcntl  # POSIX; imported here so that importing the package never needs it

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe_holder(_read(fd))
            os.close(fd)
            raise Held(holder) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)  # the holder removed this file after we opened it: lock the new one
    left = _read(fd)
    previous = describe_holder(left) if left else None
    if previous is not None:
        logger.info("taking over the lock %s left by %s, which no longer holds it", path, previous)
    os.ftruncate(fd, 0)
    os.pwrite(fd, _identity(), 0)
    return OutputLock(path, fd, previous=previous)
