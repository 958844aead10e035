"""What every stand-in process needs: a free loopback port, a wait until it is ready, a stop."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Callable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(process: subprocess.Popen, ready: Callable[[], bool], name: str, timeout: float) -> None:
    """Poll `ready()` (an OSError counts as not yet) until it is true; fail at once if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{name} did not become ready")


def stop(process: subprocess.Popen) -> None:
    """Terminate, and kill if it does not end within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
