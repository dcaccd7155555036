"""The demo's broker choice: Mosquitto when installed, else the pure-Python amqtt broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest
from greennet_demo import services
from greennet_sim import Simulator, SimulatorConfig

USER, PASSWORD = "greennet", "demo-broker-test"


@pytest.fixture
def no_mosquitto(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without Mosquitto."""
    monkeypatch.setattr(services, "mosquitto_binary", lambda: None)


async def test_auto_falls_back_to_amqtt_which_serves_the_plugs(
    tmp_path: Path, no_mosquitto: None, socket_enabled: None
) -> None:
    port = services.free_port()
    name, process = services.start_broker("auto", tmp_path / "mqtt", port, USER, PASSWORD)
    sim = Simulator(
        SimulatorConfig(port=port, username=USER, password=PASSWORD, count=2, interval=1)
    )
    try:
        assert name == "amqtt"
        await services.wait_port(process, port, 30)
        with pytest.raises(aiomqtt.MqttError, match="Not authorized"):
            async with aiomqtt.Client("127.0.0.1", port, username=USER, password="wrong"):
                pass
        await sim.start()
        await sim.wait_online(20)
        # retained discovery and telemetry reach a late subscriber; a relay command reaches a plug
        plug = sim.plugs[0]
        async with aiomqtt.Client("127.0.0.1", port, username=USER, password=PASSWORD) as client:
            await client.subscribe(f"greennet/{plug.id}/#", qos=1)
            seen: set[str] = set()
            async with asyncio.timeout(15):
                async for message in client.messages:
                    seen.add(str(message.topic).rsplit("/", 1)[-1])
                    if {"info", "status", "telemetry"} <= seen:
                        break
            want = "OFF" if plug.state.relay else "ON"
            await client.publish(f"greennet/{plug.id}/relay/set", want, qos=1)
            async with asyncio.timeout(10):
                async for message in client.messages:
                    if str(message.topic) == f"greennet/{plug.id}/relay":
                        assert message.payload == want.encode()
                        break
        assert plug.state.relay is (want == "ON")
    finally:
        await sim.stop()
        process.stop()
    assert not process.alive()


def test_forcing_missing_mosquitto_says_how_to_get_it(tmp_path: Path, no_mosquitto: None) -> None:
    with pytest.raises(RuntimeError, match="--broker amqtt"):
        services.start_broker("mosquitto", tmp_path, 1883, USER, PASSWORD)


def test_unknown_broker_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown broker"):
        services.start_broker("hivemq", tmp_path, 1883, USER, PASSWORD)


def test_auto_prefers_mosquitto_when_installed(tmp_path: Path, socket_enabled: None) -> None:
    if services.mosquitto_binary() is None:
        pytest.skip("Mosquitto is not installed (scripts/setup installs it as root)")
    port = services.free_port()
    name, process = services.start_broker("auto", tmp_path / "mqtt", port, USER, PASSWORD)
    try:
        assert name == "mosquitto"
        assert process.proc.args[0] == services.mosquitto_binary()
        asyncio.run(services.wait_port(process, port, 30))
    finally:
        process.stop()
