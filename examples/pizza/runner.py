"""Run the pizza worker as a subprocess and read its workflows over REST (for the demo and the benchmark)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from examples.pizza.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[2]


class WorkerError(Exception):
    """The worker did not start, stopped early or did not answer."""


def free_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def check_broker(bootstrap_servers: str, timeout: float = 5.0) -> None:
    """Raise :class:`WorkerError` unless the first broker address accepts a connection."""
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
    except (OSError, TimeoutError) as error:
        raise WorkerError(
            f"no Kafka broker at {bootstrap_servers} ({error}); start one with scripts/kafka.sh start"
        ) from None
    writer.close()
    await writer.wait_closed()


@dataclass(frozen=True)
class Workflow:
    """What the demo and the benchmark need to know of one stored workflow."""

    id: str
    order_id: str
    status: str
    processes: dict[str, str]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workflow:
        """Read a workflow as ``GET /tasks/instances`` returns it."""
        processes = {
            task["process_name"]: task["status"]["code"]
            for task in data.get("tasks", {}).values()
            if task.get("task_type") == "SUB_DAG" and "process_name" in task
        }
        order_id = str(data.get("runtime_parameters", {}).get("order_id", ""))
        return cls(id=data["id"], order_id=order_id, status=data["status"]["code"], processes=processes)


class WorkerProcess:
    """``python -m examples.pizza.worker`` with names of its own, a fresh data dir and a free web port.

    ``env`` adds or overrides environment variables of the worker (for example ``DAGGER_APP_NAME``, so that
    several workers join one consumer group). ``root`` is the checkout the worker runs from (its ``dagger``
    and ``examples``): this one unless told otherwise.
    """

    module = "examples.pizza.worker"
    """The worker module run with ``python -m``; subclasses run other workers with the same settings."""

    def __init__(self, broker: str, prefix: str, env: Mapping[str, str] | None = None, root: Path = ROOT) -> None:
        self.root = root
        self.workdir = Path(tempfile.mkdtemp(prefix=f"dagger-{prefix}-"))
        self.log_path = self.workdir / "worker.log"
        self.port = free_port()
        self.env = {
            **os.environ,
            "DAGGER_BROKER": broker,
            "DAGGER_APP_NAME": f"{prefix}-{uuid.uuid4().hex[:8]}",
            "DAGGER_WEB_PORT": str(self.port),
            "DAGGER_DATADIR": str(self.workdir / "data"),
            **(env or {}),
        }
        self.settings = WorkerSettings.from_env(self.env)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The worker's process id."""
        assert self.process is not None, "the worker has not been started"
        return self.process.pid

    def start(self) -> None:
        """Start the worker; its output is appended to ``worker.log`` in the work dir."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _check_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise WorkerError(f"the worker exited (code {code}); see its log below")

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float) -> None:
        """Wait until ``GET /service/ready`` says true; raise :class:`WorkerError` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            self._check_running()
            try:
                async with session.get(f"{self.base_url}/service/ready") as response:
                    if response.status == 200 and (await response.json()).get("is_ready") is True:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise WorkerError(f"the worker was not ready after {timeout:.0f} s ({self.base_url}/service/ready)")

    async def workflows(self, session: aiohttp.ClientSession) -> dict[str, Workflow]:
        """The workflows the worker holds, by order id, from ``GET /tasks/instances``."""
        self._check_running()
        async with session.get(f"{self.base_url}/tasks/instances") as response:
            if response.status != 200:
                raise WorkerError(f"GET /tasks/instances answered {response.status}: {await response.text()}")
            body = json.loads(await response.read())
        found = (Workflow.from_json(item) for item in body)
        return {workflow.order_id: workflow for workflow in found}

    def cpu_seconds(self) -> float:
        """User plus system CPU time the worker has used so far, from ``/proc/<pid>/stat``."""
        return _cpu_seconds(Path(f"/proc/{self.pid}/stat").read_text())

    def threads_cpu_seconds(self, name_prefix: str) -> float:
        """User plus system CPU time used so far by the worker's live threads whose names start with
        ``name_prefix`` (RocksDB's background threads are ``rocksdb:...``), from ``/proc/<pid>/task/*/stat``."""
        total = 0.0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            if stat[stat.index("(") + 1 :].startswith(name_prefix):
                total += _cpu_seconds(stat)
        return total

    def kill(self) -> int | None:
        """Kill the worker with SIGKILL, at once; return its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return self.process.returncode

    @property
    def running(self) -> bool:
        """Whether the worker process is alive."""
        return self.process is not None and self.process.poll() is None

    def rss_bytes(self) -> int:
        """The worker's resident memory, from ``VmRSS`` in ``/proc/<pid>/status``."""
        return self._status_bytes("VmRSS")

    def peak_rss_bytes(self) -> int:
        """The most resident memory the worker has had since it started, from ``VmHWM`` in ``/proc/<pid>/status``."""
        return self._status_bytes("VmHWM")

    def _status_bytes(self, name: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the worker with SIGTERM, or SIGKILL after ``timeout`` seconds; return its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_lines(self) -> list[str]:
        """The lines of the worker's log."""
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the worker's log."""
        return "\n".join(self.log_lines()[-lines:])

    def remove_data(self) -> None:
        """Delete the data dir (the worker's RocksDB tables), as if its disk were lost."""
        shutil.rmtree(self.workdir / "data", ignore_errors=True)

    def remove_workdir(self) -> None:
        """Delete the data dir and the log."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def _cpu_seconds(stat: str) -> float:
    """User plus system CPU seconds from the text of a ``/proc`` ``stat`` file."""
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def send_messages(producer: AIOKafkaProducer, topic: str, messages: Iterable[tuple[str | None, bytes]]) -> None:
    """Send each ``(key, value)`` of ``messages`` (a None key: unkeyed), in one burst, and wait until the broker
    has them all."""
    sent = [
        await producer.send(topic, key=None if key is None else key.encode(), value=value) for key, value in messages
    ]
    await asyncio.gather(*sent)


def pizza_request(order_id: str) -> bytes:
    """The value of the request for one pizza workflow (its key is the order id)."""
    return json.dumps({"order_id": order_id}).encode()


async def send_requests(producer: AIOKafkaProducer, topic: str, order_ids: list[str]) -> None:
    """Send one pizza request per order id, in one burst, and wait until the broker has them all."""
    await send_messages(producer, topic, ((order_id, pizza_request(order_id)) for order_id in order_ids))
