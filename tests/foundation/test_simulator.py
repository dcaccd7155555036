"""The plug simulator against a real Mosquitto: it speaks contract v1 and obeys commands."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from greennet_sim import Simulator, SimulatorConfig
from greennet_sim import protocol as p

from ..broker import Mosquitto
from ..mqtt_observer import Observer

PARSERS = {
    p.Channel.STATUS: p.parse_status,
    p.Channel.INFO: p.parse_info,
    p.Channel.TELEMETRY: p.parse_telemetry,
    p.Channel.RELAY: p.parse_relay,
    p.Channel.PROTECTION: p.parse_protection,
    p.Channel.CONFIG: p.parse_config,
    p.Channel.EVENT: p.parse_event,
}


def sim_config(broker: Mosquitto, **kwargs: object) -> SimulatorConfig:
    return SimulatorConfig(
        broker=broker.host,
        port=broker.port,
        username=broker.username,
        password=broker.password,
        **kwargs,  # type: ignore[arg-type]
    )


def on(channel: p.Channel, plug_id: str, payload: bytes | None = None):
    topic = p.topic(p.DEFAULT_PREFIX, plug_id, channel)
    return lambda m: m.topic == topic and (payload is None or m.payload == payload)


async def test_every_published_message_conforms_to_the_contract(mosquitto: Mosquitto) -> None:
    async with (
        Observer(mosquitto) as live,
        Simulator(sim_config(mosquitto, count=3, interval=1, seed=7)) as sim,
    ):
        await sim.wait_online()
        plug = sim.plugs[0]
        plug.set_load(5000)  # force a trip so events are covered too
        await sim.step(plug.id, 1)
        await sim.press_button(sim.plugs[1].id)
        await live.wait_for(on(p.Channel.EVENT, plug.id))
        await asyncio.sleep(1.5)  # at least one periodic telemetry from every plug

        seen_channels: dict[str, set[p.Channel]] = {}
        for m in live.messages:
            plug_id, channel = p.split_topic(p.DEFAULT_PREFIX, m.topic)
            assert channel in p.PLUG_PUBLISHES, m.topic
            PARSERS[channel](m.payload)  # raises on any contract violation
            seen_channels.setdefault(plug_id, set()).add(channel)
            if channel is p.Channel.INFO:
                assert p.parse_info(m.payload, expected_id=plug_id).protocol == 1
        assert set(seen_channels) == {pl.id for pl in sim.plugs}
        for channels in seen_channels.values():
            assert set(p.PLUG_PUBLISHES) - {p.Channel.EVENT} <= channels

        # A late subscriber gets exactly the retained channels, flagged retained.
        async with Observer(mosquitto) as late:
            await late.wait_for(on(p.Channel.CONFIG, sim.plugs[2].id))
            await asyncio.sleep(0.3)
            retained = {
                (m.topic.rsplit("/", 1)[0], p.split_topic("greennet", m.topic)[1])
                for m in late.messages
                if m.retain
            }
            expected = {ch for ch, keep in p.PLUG_PUBLISHES.items() if keep}
            for pl in sim.plugs:
                assert {ch for base, ch in retained if base.endswith(pl.id)} == expected
            assert not any(
                m.retain for m in late.messages if m.topic.endswith(("/telemetry", "/event"))
            )


async def test_retained_info_lets_a_new_consumer_discover_every_plug(mosquitto: Mosquitto) -> None:
    async with Simulator(sim_config(mosquitto, count=4)) as sim:
        await sim.wait_online()
        async with Observer(mosquitto, "greennet/+/info") as discover:
            for plug in sim.plugs:
                m = await discover.wait_for(on(p.Channel.INFO, plug.id))
                assert m.retain
                info = p.parse_info(m.payload, expected_id=plug.id)
                assert info.mac == plug.mac
        assert len({pl.id for pl in sim.plugs}) == 4


async def test_relay_command_round_trip(mosquitto: Mosquitto) -> None:
    async with Observer(mosquitto) as obs, Simulator(sim_config(mosquitto, count=1)) as sim:
        await sim.wait_online()
        plug = sim.plugs[0]
        plug.set_load(100)
        relay_set = p.topic("greennet", plug.id, p.Channel.RELAY_SET)

        mark = len(obs.messages)
        await obs.publish(relay_set, "OFF")
        seen = await obs.wait_for(on(p.Channel.RELAY, plug.id, b"OFF"), after=mark)
        mark = seen.index
        t = await obs.wait_for(on(p.Channel.TELEMETRY, plug.id), after=mark)
        assert p.parse_telemetry(t.payload).relay is False
        assert p.parse_telemetry(t.payload).power == 0

        mark = len(obs.messages)
        await obs.publish(relay_set, "TOGGLE")
        seen = await obs.wait_for(on(p.Channel.RELAY, plug.id, b"ON"), after=mark)
        t = await obs.wait_for(on(p.Channel.TELEMETRY, plug.id), after=seen.index)
        assert p.parse_telemetry(t.payload).power == pytest.approx(100)


async def test_overload_trips_relay_and_publishes_event(mosquitto: Mosquitto) -> None:
    async with Observer(mosquitto) as obs, Simulator(sim_config(mosquitto, count=1)) as sim:
        await sim.wait_online()
        plug = sim.plugs[0]
        await obs.publish(
            p.topic("greennet", plug.id, p.Channel.PROTECTION_SET), '{"max_power": 500}'
        )
        m = await obs.wait_for(lambda m: m.topic.endswith("/protection") and b"500" in m.payload)
        assert p.parse_protection(m.payload).max_power == 500

        plug.set_load(800)
        await sim.step(plug.id, 1)
        event = p.parse_event((await obs.wait_for(on(p.Channel.EVENT, plug.id))).payload)
        assert event.type == "overload_trip"
        assert event.data["reason"] == "power"
        await obs.wait_for(on(p.Channel.RELAY, plug.id, b"OFF"))
        tripped = await obs.wait_for(
            lambda m: on(p.Channel.PROTECTION, plug.id)(m) and p.parse_protection(m.payload).tripped
        )
        assert tripped.retain is False  # live delivery; retained flag shows only to late joiners

        # The trip latches: ON is refused (relay re-announced OFF) until a reset.
        mark = len(obs.messages)
        await obs.publish(p.topic("greennet", plug.id, p.Channel.RELAY_SET), "ON")
        await obs.wait_for(on(p.Channel.RELAY, plug.id, b"OFF"), after=mark)
        refused = [m for m in obs.messages[mark:] if m.topic.startswith(f"greennet/{plug.id}/")]
        channels = [m.topic.split("/", 2)[2] for m in refused]
        assert [c for c in channels if c != "telemetry"] == ["relay/set", "relay"]  # no ON, no trip
        assert plug.state.relay is False
        assert plug.tripped is True

        # After a reset, switching on again while still overloaded trips again at once.
        set_topic = p.topic("greennet", plug.id, p.Channel.PROTECTION_SET)
        await obs.publish(set_topic, '{"reset": true}')
        await obs.wait_for(
            lambda m: on(p.Channel.PROTECTION, plug.id)(m)
            and not p.parse_protection(m.payload).tripped,
            after=mark,
        )
        mark = len(obs.messages)
        await obs.publish(p.topic("greennet", plug.id, p.Channel.RELAY_SET), "ON")
        await obs.wait_for(on(p.Channel.EVENT, plug.id), after=mark)
        assert plug.state.relay is False


async def test_malformed_commands_are_logged_once_and_ignored(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="greennet_sim")
    async with Observer(mosquitto) as obs, Simulator(sim_config(mosquitto, count=1)) as sim:
        await sim.wait_online()
        plug = sim.plugs[0]
        bad = [
            (p.Channel.RELAY_SET, b"BANANA"),
            (p.Channel.RELAY_SET, b"\xff\xfe"),
            (p.Channel.PROTECTION_SET, b"{not json"),
            (p.Channel.PROTECTION_SET, b'{"max_power": -5}'),
            (p.Channel.CONFIG_SET, b'{"interval": "fast"}'),
            (p.Channel.CONFIG_SET, b"x" * 10_000),
        ]
        for channel, payload in bad:
            await obs.publish(p.topic("greennet", plug.id, channel), payload)
        # A valid command after the garbage still works: the plug kept running.
        await obs.publish(p.topic("greennet", plug.id, p.Channel.CONFIG_SET), '{"interval": 7}')
        m = await obs.wait_for(
            lambda m: m.topic.endswith("/config") and b'"interval":7' in m.payload
        )
        assert p.parse_config(m.payload).interval == 7
        assert plug.state.max_power == 2300.0
        assert plug.state.relay is True
        ignored = [r for r in caplog.records if "ignored command" in r.getMessage()]
        assert len(ignored) == len(bad)


async def test_energy_survives_a_simulator_restart(mosquitto: Mosquitto, tmp_path: Path) -> None:
    state = tmp_path / "sim-state.json"
    cfg = sim_config(mosquitto, count=1, state_file=state)
    async with Simulator(cfg) as sim:
        await sim.wait_online()
        plug = sim.plugs[0]
        plug.set_load(1000)
        for _ in range(60):
            await sim.step(plug.id, 60)  # one simulated hour at 1 kW
        first = plug.state.energy
        assert first == pytest.approx(1.0, rel=0.01)
    assert json.loads(state.read_text())[plug.id]["energy"] == pytest.approx(first)

    async with Observer(mosquitto) as obs, Simulator(cfg) as sim2:
        await sim2.wait_online()
        m = await obs.wait_for(on(p.Channel.TELEMETRY, sim2.plugs[0].id))
        assert p.parse_telemetry(m.payload).energy >= round(first, 4)


def test_unreadable_state_file_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "broken.json"
    state.write_text("{broken")
    sim = Simulator(SimulatorConfig(count=1, state_file=state))
    assert sim._load_state() == {}


async def test_killed_simulator_leaves_offline_via_last_will(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with Observer(mosquitto) as obs:
        proc = subprocess.Popen(  # noqa: ASYNC220 - the point is a real process to kill
            [
                sys.executable,
                "-m",
                "greennet_sim",
                "--count",
                "2",
                "--port",
                str(mosquitto.port),
                "--username",
                mosquitto.username,
                "--password",
                mosquitto.password,
                "--state-file",
                str(tmp_path / "s.json"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            online = await obs.wait_for(
                lambda m: m.topic.endswith("/status") and m.payload == b"online", 15
            )
            plug_id = online.topic.split("/")[1]
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
            await obs.wait_for(on(p.Channel.STATUS, plug_id, b"offline"), 10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_cli_rejects_bad_options() -> None:
    for args in (
        ["--count", "0"],
        ["--interval", "0"],
        ["--prefix", "a/#"],
        ["--profiles", "toaster"],
    ):
        res = subprocess.run(
            [sys.executable, "-m", "greennet_sim", *args], capture_output=True, text=True
        )
        assert res.returncode == 2, args
        assert "error" in res.stderr
