"""Whether a stranded process (its supervisor gone) still has a broker to commit to."""

from __future__ import annotations

import socket

from services.broker.local import free_port
from services.stack import broker_answers


def test_a_broker_answers_when_any_bootstrap_server_accepts_connections() -> None:
    with socket.socket() as broker:
        broker.bind(("127.0.0.1", 0))
        broker.listen()
        port = broker.getsockname()[1]

        assert broker_answers(f"127.0.0.1:{free_port()}, 127.0.0.1:{port}")


def test_no_broker_answers_when_nothing_listens() -> None:
    assert not broker_answers(f"127.0.0.1:{free_port()},[::1]:{free_port()}")


def test_a_bootstrap_without_a_port_is_no_broker() -> None:
    assert not broker_answers("localhost, :9092, 127.0.0.1:port")
