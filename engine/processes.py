"""Which process holds a job or a cache claim: its machine, its pid and when it started.

A pid alone is not enough: after a reboot, or on a busy machine, the system gives a dead holder's pid
to another process, and the dead holder would then look alive for ever. Its start time tells them apart.
"""

from __future__ import annotations

import os
import socket

import psutil

SAME_START_SECONDS = 1.0  # a process's start time, as read twice, differs by less (the boot time is re-read)

_identities: dict[int, str] = {}  # per pid, so a forked child names itself, not its parent


def this_process() -> str:
    """"host:pid/start" of this process, the same string on every call."""
    pid = os.getpid()
    if pid not in _identities:
        _identities[pid] = f"{socket.gethostname()}:{pid}/{psutil.Process(pid).create_time():.2f}"
    return _identities[pid]


def parse_holder(holder: str) -> tuple[str, int | None, str]:
    """A holder's machine, pid (None if it names none) and start time ("" in the old "host:pid" form)."""
    host, _, rest = holder.rpartition(":")
    pid, _, start = rest.partition("/")
    return host, int(pid) if pid.isdigit() else None, start


def process_is_gone(holder: str | None) -> bool:
    """Whether the process `holder` names has ended: only known for this machine (another's is never gone).

    An empty holder is gone: nothing running names itself so. An old "host:pid" without a start time
    is judged by its pid alone.
    """
    if not holder:
        return True
    host, pid, start = parse_holder(holder)
    if host != socket.gethostname() or pid is None:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        return bool(start) and abs(process.create_time() - float(start)) >= SAME_START_SECONDS
    except psutil.NoSuchProcess:
        return True
    except (psutil.AccessDenied, ValueError):
        return False
