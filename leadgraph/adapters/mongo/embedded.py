"""Embedded MongoDB: an nx-27017 wire-protocol server over SQLite, run as a child process.

Used when ``MONGODB_URL`` is unset so the service runs with no database installed. The data
file lives under the data directory, so data survives a restart.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_LAUNCH = "import sys; from nx_27017.nx_27017 import main; sys.exit(main())"


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Linux: SIGTERM the server when the thread that started it dies, even by SIGKILL.

    Without it a killed ``leadgraph serve`` (uvicorn re-raises SIGTERM after its shutdown)
    would leave an orphan holding the data file.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedMongo:
    """Start/stop one nx-27017 process. Synchronous so the CLI can own it before workers fork."""

    def __init__(self, data_dir: Path, port: int | None = None, startup_timeout: float = 30.0):
        self.data_dir = data_dir
        self.port = port or free_loopback_port()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "leadgraph.nx.db"

    @property
    def url_file(self) -> Path:
        return self.data_dir / "nx-27017.url"

    @staticmethod
    def running_url(data_dir: Path) -> str | None:
        """The URL of an embedded server another process runs on this data dir, if alive.

        Lets ``leadgraph users create`` work while ``leadgraph serve`` holds the data file.
        """
        try:
            url, pid = (data_dir / "nx-27017.url").read_text().split()
            os.kill(int(pid), 0)  # the recorded server process is still alive
        except (OSError, ValueError):
            return None
        client: MongoClient[dict[str, object]] = MongoClient(
            url, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            client.admin.command("ping")
        except PyMongoError:
            return None
        finally:
            client.close()
        return url

    def start(self) -> str:
        self._spawn()
        self._wait_until_ready()
        self._record_url()
        return self.url

    def _spawn(self) -> None:
        """Start the process. Must run on a long-lived thread: see ``_die_with_parent``."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_file = (self.data_dir / "nx-27017.log").open("ab")
        command = [sys.executable, "-c", _LAUNCH, "--db", str(self.db_file),
                   "--host", "127.0.0.1", "-p", str(self.port),
                   # nx-27017 refuses to start twice with the same pid file: one per data dir.
                   "--pid-file", str(self.data_dir / "nx-27017.pid")]
        # Its own session: a Ctrl-C on the terminal reaches us, and we stop it in order.
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log_file.close()
        log.info("embedded MongoDB (nx-27017) on %s, data in %s", self.url, self.db_file)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        client: MongoClient[dict[str, object]] = MongoClient(
            self.url, serverSelectionTimeoutMS=250, connectTimeoutMS=250
        )
        try:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(
                        f"nx-27017 exited with {self._process.returncode}; "
                        f"see {self.data_dir / 'nx-27017.log'}"
                    )
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError("nx-27017 did not answer ping in time") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def _record_url(self) -> None:
        assert self._process is not None
        self.url_file.write_text(f"{self.url} {self._process.pid}\n")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            self.url_file.unlink(missing_ok=True)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def astart(self) -> str:
        self._spawn()  # on the event loop's thread, which outlives the server
        await asyncio.to_thread(self._wait_until_ready)
        self._record_url()
        return self.url

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)
