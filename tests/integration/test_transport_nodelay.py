"""The broker connection sends small packets at once (no Nagle delay behind a PUBACK)."""

from __future__ import annotations

import socket

from pytest_homeassistant_custom_component.common import MockConfigEntry


async def test_the_broker_socket_has_nagle_turned_off(entry: MockConfigEntry) -> None:
    client = entry.runtime_data.transport._client
    assert client is not None
    sock = client._client.socket()
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
