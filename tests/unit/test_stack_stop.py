"""Whether a stranded process (its supervisor gone) still has a broker to commit to."""

from __future__ import annotations

import socket

from services.broker.local import free_port
from services.broker.servers import bootstrap_servers
from services.stack import broker_answers


def test_a_broker_answers_when_any_bootstrap_server_accepts_connections() -> None:
    with socket.socket() as broker:
        broker.bind(("127.0.0.1", 0))
        broker.listen()
        port = broker.getsockname()[1]

        assert broker_answers(f"127.0.0.1:{free_port()}, 127.0.0.1:{port}")


def test_no_broker_answers_when_nothing_listens() -> None:
    assert not broker_answers(f"127.0.0.1:{free_port()},[::1]:{free_port()}")


def test_bootstrap_servers_are_read_as_the_clients_read_them() -> None:
    with socket.socket() as broker:
        broker.bind(("127.0.0.1", 0))
        broker.listen()
        port = broker.getsockname()[1]

        assert broker_answers(f"kafka://127.0.0.1:{port}")  # a faust-style URL is the same server
    assert bootstrap_servers("broker-1, [::1]:9093, fd00::10,") == [
        ("broker-1", 9092),  # no port: Kafka's
        ("[::1]", 9093),
        ("[fd00::10]", 9092),  # a bare IPv6 address cannot carry a port
    ]
