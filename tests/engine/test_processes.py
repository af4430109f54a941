"""A holder process is judged by its pid and its start time, so a pid given to a later process is not its holder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import psutil

from engine.processes import process_is_gone, this_process


def test_this_process_names_itself_the_same_way_every_time_and_is_alive():
    me = this_process()
    assert me == this_process() and me.startswith(f"{socket.gethostname()}:{os.getpid()}/")
    assert not process_is_gone(me)


def test_a_pid_now_held_by_a_later_process_is_not_its_holder():
    started = psutil.Process(os.getpid()).create_time()
    earlier = f"{socket.gethostname()}:{os.getpid()}/{started - 3600:.2f}"  # our pid, an hour-older start
    assert process_is_gone(earlier)
    assert not process_is_gone(f"{socket.gethostname()}:{os.getpid()}")  # an old claim, pid only: alive


def test_ended_and_unreaped_processes_are_gone_and_another_machines_never_is():
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    _wait_until_zombie(zombie.pid)
    try:
        assert process_is_gone(f"{socket.gethostname()}:{ended.pid}")
        assert process_is_gone(f"{socket.gethostname()}:{zombie.pid}")  # ended, not yet waited for by its parent
    finally:
        zombie.wait()
    assert not process_is_gone(f"another-machine.example:{ended.pid}/1.00")
    assert process_is_gone("") and process_is_gone(None)  # a claim left empty names nobody alive


def _wait_until_zombie(pid: int) -> None:
    process = psutil.Process(pid)
    for _ in range(600):
        if process.status() == psutil.STATUS_ZOMBIE:
            return
        time.sleep(0.05)
    raise AssertionError("the child never ended")
