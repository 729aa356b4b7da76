"""Real Celery worker processes for tests of the production path.

A worker runs ``celery -A config worker`` against the test database (the
one pytest-django created) and the Redis broker, on a queue of its own so
that nothing else on the machine takes its tasks. Tests that use it need
``transactional_db`` so that what they write is committed and visible.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.celery_app import app as celery_app

ROOT = Path(settings.BASE_DIR)


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = db.get("PASSWORD") or ""
    auth = f"{user}:{password}" if password else user
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


class Worker:
    def __init__(self, queue: str, log_path: Path, concurrency: int = 1) -> None:
        self.queue = queue
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DEBUG": "false",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_QUEUE": self.queue,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "CONN_MAX_AGE": "0",
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-Q", self.queue, "-c", str(self.concurrency), "-P", "prefork",
                "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-n", f"{self.queue}-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            if "ready." in self.log():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and its pool), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def broker_mode(queue: str) -> Iterator[None]:
    """Send tasks from this test process through Redis to ``queue``, not eagerly.

    The app reads Django settings with the CELERY_ namespace, and there the
    prefixed keys win over the plain ones, so both are set.
    """
    conf = celery_app.conf
    values = {
        "task_always_eager": False,
        "broker_url": settings.REDIS_URL,
        "result_backend": settings.REDIS_URL,
        "task_default_queue": queue,
    }
    keys = [*values, *(f"CELERY_{key.upper()}" for key in values)]
    saved = {key: conf.get(key) for key in keys}
    for key, value in values.items():
        conf[key] = value
        conf[f"CELERY_{key.upper()}"] = value
    try:
        yield
    finally:
        for key in keys:
            conf[key] = saved[key]


@contextmanager
def running_workers(tmp_path: Path, count: int = 1, concurrency: int = 1) -> Iterator[list[Worker]]:
    """Start ``count`` worker processes sharing one fresh queue; stop them after."""
    queue = f"test-{uuid.uuid4().hex[:10]}"
    workers = [Worker(queue, tmp_path / f"worker{i}.log", concurrency) for i in range(count)]
    with broker_mode(queue):
        try:
            for worker in workers:
                worker.start()
            yield workers
        finally:
            for worker in workers:
                worker.stop()
