"""Cheap reachability probes for the backing services."""

from __future__ import annotations

import socket
from urllib.parse import urlparse


def _port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def postgres_reachable(url: str) -> bool:
    parsed = urlparse(url)
    if not parsed.scheme.startswith("postgres"):
        return False
    return _port_open(parsed.hostname or "127.0.0.1", parsed.port or 5432)


def redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss"}:
        return False
    return _port_open(parsed.hostname or "127.0.0.1", parsed.port or 6379)
