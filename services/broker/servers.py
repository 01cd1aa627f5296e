"""Bootstrap servers as the settings name them (``host:port,host:port``), read one way for every use."""

from __future__ import annotations

DEFAULT_KAFKA_PORT = 9092


def bootstrap_server(server: str) -> tuple[str, int]:
    """One bootstrap server as (host, port): a ``kafka://`` prefix tolerated, Kafka's 9092 when no port is given.

    A bare IPv6 address cannot carry a port and comes back in brackets, as it is written in an address with one
    (``[::1]``). Raises ``ValueError`` for an empty one.
    """
    server = server.strip()
    if "://" in server:  # tolerate faust-style URLs (kafka://host:port)
        server = server.split("://", 1)[1]
    if not server:
        raise ValueError("no bootstrap server given")
    host, sep, port = server.rpartition(":")
    if ":" in host and not host.startswith("["):  # a bare IPv6 address, which cannot carry a port
        return f"[{server}]", DEFAULT_KAFKA_PORT
    if not sep or not port.isdigit():
        return server, DEFAULT_KAFKA_PORT
    return host, int(port)


def bootstrap_servers(bootstrap: str) -> list[tuple[str, int]]:
    """Every server of a comma-separated bootstrap list, as :func:`bootstrap_server` reads it; empty ones skipped."""
    return [bootstrap_server(server) for server in bootstrap.split(",") if server.strip()]
