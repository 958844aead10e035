"""A real forward proxy (Debian's tinyproxy) on loopback, as a company network puts between a server and OpenAI."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.standins.processes import free_port, stop, wait_ready


class TinyProxy:
    """tinyproxy in the foreground: CONNECT to any port, plain forwarding, Basic auth when a user is given."""

    def __init__(self, user: str | None = None, password: str | None = None):
        binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
        self.directory = Path(tempfile.mkdtemp(prefix="tinyproxy-"))
        self.port = free_port()
        lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 60", "MaxClients 100", "Allow 127.0.0.1",
                 "LogLevel Critical", f"LogFile \"{self.directory / 'tinyproxy.log'}\"", "DisableViaHeader Yes"]
        if user:
            lines.append(f"BasicAuth {user} {password}")
        config = self.directory / "tinyproxy.conf"
        config.write_text("\n".join(lines) + "\n")  # no ConnectPort line: CONNECT may reach any port
        self.process = subprocess.Popen([binary, "-d", "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> "TinyProxy":
        wait_ready(self.process, self._listening, "tinyproxy", timeout)
        return self

    def _listening(self) -> bool:
        socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        return True

    def stop(self) -> None:
        stop(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)
