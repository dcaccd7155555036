"""Home Assistant side by side: GreenNet vs HA's own MQTT integration, in real `hass` processes.

For each plug count, the same simulated plugs (1 Hz telemetry) go through the same
Mosquitto into (a) the GreenNet integration and (b) HA's MQTT integration configured
with equivalent MQTT sensors and switches (what a user would write without GreenNet).
Measured: HA process CPU per 1000 telemetry messages, as measured and as the marginal
cost (minus the same process's idle CPU with the same entities and no messages, taken
in the same run just before), publish→state latency, relay round trip (service call →
broker → plug → confirmed state), and RSS growth per plug. With `--profile`, py-spy
samples the GreenNet process for a further window and the top functions are printed.
HA runs without its recorder unless `--recorder` is given: the recorder writes each
changed state to its database, the same work for both integrations' states.

    .venv/bin/python -m bench.ha_bench [--quick] [--counts 50 200] [--profile] [--write]
        [--recorder] [--modes mqtt mqtt-equivalent greennet@<ref> greennet]
        [--rounds 3] [--window 60]

With `--rounds N` the modes run N times, in alternating order (A B C, C B A, ...), and each
ratio is taken within its round, against the baseline measured minutes before or after
it: the machine's speed drifts over tens of minutes (the MQTT baseline alone measured
0.168-0.297 ms per report on different runs of 2026-12-02), so a ratio between rounds
would carry that drift. The summary gives every round's ratio and their median.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiomqtt
from greennet_demo.home_assistant import greennet_key
from greennet_sim import Simulator, SimulatorConfig

from bench.harness import (
    MQTT_PASSWORD,
    MQTT_USER,
    Rig,
    cpu_seconds,
    git_rev,
    machine_info,
    record_results,
    rss_mib,
    state_changes,
    summary,
)

SENSORS = (
    ("power", "W", "power"),
    ("voltage", "V", "voltage"),
    ("current", "A", "current"),
    ("energy", "kWh", "energy"),
)


def _availability(pid: str) -> list[str]:
    return [
        f"      availability_topic: greennet/{pid}/status",
        "      payload_available: online",
        "      payload_not_available: offline",
        f"      device: {{identifiers: [{pid}], name: {pid}}}",
    ]


def _mqtt_entity(pid: str, key: str, fields: dict[str, str]) -> list[str]:
    lines = [f"    - name: {key}", f"      unique_id: bench_{pid}_{key}"]
    lines += [f"      {name}: {value}" for name, value in fields.items()]
    return lines + _availability(pid)


def _core_entities(pid: str) -> dict[str, list[list[str]]]:
    """The four measurements and the relay: the entities measured since the first run."""
    sensors = []
    for key, unit, device_class in SENSORS:
        state_class = "total_increasing" if key == "energy" else "measurement"
        sensors.append(
            _mqtt_entity(
                pid,
                key,
                {
                    "state_topic": f"greennet/{pid}/telemetry",
                    "value_template": f"'{{{{ value_json.{key} }}}}'",
                    "unit_of_measurement": unit,
                    "device_class": device_class,
                    "state_class": state_class,
                },
            )
        )
    relay = _mqtt_entity(
        pid,
        "relay",
        {
            "command_topic": f"greennet/{pid}/relay/set",
            "state_topic": f"greennet/{pid}/relay",
            "payload_on": "'ON'",
            "payload_off": "'OFF'",
            "qos": "1",
        },
    )
    return {"sensor": sensors, "switch": [relay]}


def _quoted(text: str) -> str:
    """`text` as a single-quoted YAML scalar."""
    return "'" + text.replace("'", "''") + "'"


def _setting(pid: str, topic: str, key: str, extra: dict[str, str]) -> list[str]:
    """A number or select on a retained settings topic, commanded through `<topic>/set`."""
    fields = {
        "state_topic": f"greennet/{pid}/{topic}",
        "command_topic": f"greennet/{pid}/{topic}/set",
        "value_template": f"'{{{{ value_json.{key} }}}}'",
        "entity_category": "config",
    }
    return _mqtt_entity(pid, key, fields | extra)


def _equivalent_entities(pid: str) -> dict[str, list[list[str]]]:
    """Every entity GreenNet creates for a plug, enabled (or not) as GreenNet's are."""
    out = _core_entities(pid)
    telemetry = f"greennet/{pid}/telemetry"
    out["sensor"] += [
        _mqtt_entity(
            pid,
            "rssi",
            {
                "state_topic": telemetry,
                "value_template": "'{{ value_json.rssi }}'",
                "unit_of_measurement": "dBm",
                "device_class": "signal_strength",
                "state_class": "measurement",
                "entity_category": "diagnostic",
                "enabled_by_default": "false",
            },
        ),
        _mqtt_entity(
            pid,
            "last_restart",
            {
                "state_topic": telemetry,
                "value_template": "'{{ (now() - timedelta(seconds=value_json.uptime))"
                ".isoformat() }}'",
                "device_class": "timestamp",
                "entity_category": "diagnostic",
                "enabled_by_default": "false",
            },
        ),
    ]
    number = '{{"{key}": {{{{ value }}}}}}'  # a str.format template: {{ → {
    out["number"] = [
        _setting(
            pid,
            "protection",
            "max_power",
            {
                "command_template": "'" + number.format(key="max_power") + "'",
                "min": "1",
                "max": "25000",
                "unit_of_measurement": "W",
                "device_class": "power",
                "mode": "box",
            },
        ),
        _setting(
            pid,
            "protection",
            "max_current",
            {
                "command_template": "'" + number.format(key="max_current") + "'",
                "min": "0.1",
                "max": "100",
                "step": "0.1",
                "unit_of_measurement": "A",
                "device_class": "current",
                "mode": "box",
            },
        ),
        _setting(
            pid,
            "config",
            "interval",
            {
                "command_template": _quoted('{"interval": {{ value | int }}}'),
                "min": "1",
                "max": "3600",
                "unit_of_measurement": "s",
                "device_class": "duration",
                "mode": "box",
                "enabled_by_default": "false",
            },
        ),
        _setting(
            pid,
            "config",
            "deadband",
            {
                "command_template": "'" + number.format(key="deadband") + "'",
                "min": "0",
                "max": "10000",
                "unit_of_measurement": "W",
                "device_class": "power",
                "mode": "box",
                "enabled_by_default": "false",
            },
        ),
    ]
    out["select"] = [
        _setting(
            pid,
            "config",
            "restore",
            {
                "command_template": _quoted('{"restore": "{{ value }}"}'),
                "options": "['off', 'on', 'last']",
                "enabled_by_default": "false",
            },
        )
    ]
    out["binary_sensor"] = [
        _mqtt_entity(
            pid,
            "overload",
            {
                "state_topic": f"greennet/{pid}/protection",
                "value_template": _quoted('{{ "ON" if value_json.tripped else "OFF" }}'),
                "device_class": "problem",
            },
        )
    ]
    event = f"greennet/{pid}/event"
    out["event"] = [
        _mqtt_entity(
            pid,
            key,
            {
                "state_topic": event,
                "event_types": types,
                "value_template": _quoted('{"event_type": "{{ ' + field + ' }}"}'),
            },
        )
        for key, types, field in (
            ("overload", "[overload_trip]", "value_json.type"),
            ("sensor_fault", "[sensor_fault]", "value_json.type"),
            ("button", "[single, double, long]", "value_json.action"),
        )
    ]
    return out


def mqtt_yaml(plug_ids: list[str], equivalent: bool = False) -> str:
    """HA MQTT entities per plug: the core five, or all GreenNet's (`equivalent`)."""
    domains: dict[str, list[str]] = {}
    for pid in plug_ids:
        entities = _equivalent_entities(pid) if equivalent else _core_entities(pid)
        for domain, items in entities.items():
            for item in items:
                domains.setdefault(domain, []).extend(item)
    lines = ["mqtt:"]
    for domain, items in domains.items():
        lines += [f"  {domain}:", *items]
    return "\n".join(lines) + "\n"


async def setup_integration(rig: Rig, mode: str) -> None:
    """Add GreenNet, or HA's MQTT integration, through its config flow."""
    assert rig.ha is not None
    broker = {
        "host": "127.0.0.1",
        "port": rig.mqtt_port,
        "username": MQTT_USER,
        "password": MQTT_PASSWORD,
        "prefix": "greennet",
        "tls": False,
    }
    if mode == "greennet":
        await rig.ha.ensure_greennet_entry(broker)
        return
    await rig.ha.run_config_flow(
        "mqtt",
        {
            "broker": "127.0.0.1",
            "port": rig.mqtt_port,
            "username": MQTT_USER,
            "password": MQTT_PASSWORD,
        },
    )


async def entity_map(rig: Rig, mode: str, plug_ids: list[str]) -> dict[str, dict[str, str]]:
    """plug id -> {'power': entity_id, 'switch': entity_id} once all exist."""
    assert rig.ha is not None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        (entities, devices) = await rig.ha.ws(
            {"type": "config/entity_registry/list"}, {"type": "config/device_registry/list"}
        )
        device_plug = {d["id"]: i[1] for d in devices for i in d["identifiers"] if i[1] in plug_ids}
        found: dict[str, dict[str, str]] = {}
        for e in entities:
            pid = device_plug.get(e.get("device_id") or "")
            if pid is None or e["platform"] != mode:
                continue
            domain = e["entity_id"].split(".")[0]
            key = greennet_key(e) if mode == "greennet" else e["unique_id"].rsplit("_", 1)[1]
            if domain == "switch":
                found.setdefault(pid, {})["switch"] = e["entity_id"]
            elif domain == "sensor" and key == "power":
                found.setdefault(pid, {})["power"] = e["entity_id"]
        states = await rig.ha.states()
        ready = [
            p
            for p, ents in found.items()
            if len(ents) == 2
            and states.get(ents["power"], {}).get("state") not in (None, "unknown", "unavailable")
        ]
        if len(ready) == len(plug_ids):
            return found
        await asyncio.sleep(1)
    raise RuntimeError(f"{mode}: entities for {len(plug_ids)} plugs did not appear")


async def count_telemetry(rig: Rig, seconds: float) -> int:
    """Telemetry messages the broker delivered in a window (what HA had to ingest)."""
    n = 0
    async with aiomqtt.Client(
        "127.0.0.1", rig.mqtt_port, username=MQTT_USER, password=MQTT_PASSWORD
    ) as client:
        await client.subscribe("greennet/+/telemetry")
        with_timeout = asyncio.timeout(seconds)
        try:
            async with with_timeout:
                async for _ in client.messages:
                    n += 1
        except TimeoutError:
            pass
    return n


async def latency_probe(
    rig: Rig, sim: Simulator, plug_id: str, entity: str, samples: int
) -> list[float]:
    """publish → state_changed, in ms, with distinct power values from one plug."""
    assert rig.ha is not None
    plug = sim.plug(plug_id)
    out: list[float] = []
    async with state_changes(rig.ha, entity) as queue:
        for i in range(samples):
            value = 500.0 + i + (samples * (time.monotonic_ns() % 7))
            plug.set_load(value)
            t0 = time.monotonic()
            await sim.report(plug_id)
            seen: list[Any] = []
            try:
                async with asyncio.timeout(10):
                    while True:
                        ev = await queue.get()
                        if "error" in ev:
                            raise RuntimeError(ev["error"])
                        state = ev["state"]
                        seen.append(state)
                        if _float(state) == round(value, 1):
                            out.append((ev["t"] - t0) * 1000)
                            break
            except TimeoutError:
                raise RuntimeError(f"{entity} never showed {value}: saw {seen}") from None
            await asyncio.sleep(0.2)
    plug.set_load(None)
    return out


def _float(text: Any) -> float | None:
    try:
        return round(float(text), 1)
    except (TypeError, ValueError):
        return None


async def relay_round_trip(rig: Rig, entity: str, samples: int) -> list[float]:
    """HA service call → broker → plug → confirmed switch state, in ms."""
    assert rig.ha is not None
    out: list[float] = []
    async with state_changes(rig.ha, entity) as queue:
        for _ in range(samples):
            t0 = time.monotonic()
            await rig.ha.call("switch", "toggle", {"entity_id": entity})
            async with asyncio.timeout(10):
                ev = await queue.get()
                while ev["state"] not in ("on", "off"):
                    ev = await queue.get()
            out.append((ev["t"] - t0) * 1000)
            await asyncio.sleep(0.1)
    slowest = sorted(enumerate(out), key=lambda item: item[1])[-3:]
    print("  slowest toggles (index: ms):", ", ".join(f"{i}: {ms:.1f}" for i, ms in slowest))
    return out


async def profile(pid: int, seconds: float, top: int = 20) -> str:
    """py-spy samples of the process (all threads) for `seconds`: top functions as text."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        proc = await asyncio.create_subprocess_exec(
            pyspy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--gil",
            "--nonblocking",
            "--output",
            out.name,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await proc.wait()
        stacks = Path(out.name).read_text().splitlines()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks:
        frames, _, count_text = line.rpartition(" ")
        if not frames:
            continue
        samples = int(count_text)
        # One entry per function, not per line; waiting in select is idle, not work.
        names = [re.sub(r":\d+\)$", ")", frame) for frame in frames.split(";")]
        if names[-1].startswith(("EpollSelector.select", "select ")):
            continue
        total += samples
        own[names[-1]] += samples
        for name in set(names):
            if "greennet" in name:
                inclusive[name] += samples
    total = max(total, 1)
    rows = [
        f"{total} samples at 200 Hz over {int(seconds)} s (threads holding the GIL, waiting in "
        "select excluded)",
        "",
    ]
    rows += ["| self % | function |", "| --- | --- |"]
    rows += [f"| {n / total * 100:.1f} | `{name}` |" for name, n in own.most_common(top)]
    rows += ["", "| incl. % | GreenNet function |", "| --- | --- |"]
    rows += [f"| {n / total * 100:.1f} | `{name}` |" for name, n in inclusive.most_common(12)]
    return "\n".join(rows)


def greennet_at(ref: str, into: Path) -> Path:
    """The integration as it was at git `ref`, extracted under `into`."""
    archive = subprocess.run(
        ["git", "archive", ref, "custom_components/greennet"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "custom_components" / "greennet"


def integration_of(mode: str) -> str:
    """`mqtt` or `greennet`: which integration a mode measures."""
    return "mqtt" if mode.startswith("mqtt") else "greennet"


async def run_one(
    mode: str,
    count: int,
    window: float,
    samples: int,
    profile_it: bool = False,
    recorder: bool = False,
) -> dict[str, Any]:
    """One mode at one plug count; returns the figures.

    Modes: `mqtt` (HA MQTT, the five core entities per plug), `mqtt-equivalent` (HA MQTT
    with every entity GreenNet creates), `greennet`, `greennet@<git ref>` (the integration
    as committed at that ref, to compare code before and after in one run).
    """
    cfg_plugs = Simulator(SimulatorConfig(count=count)).plugs
    plug_ids = [p.id for p in cfg_plugs]
    integration = integration_of(mode)
    with tempfile.TemporaryDirectory(prefix="greennet-bench-") as tmp:
        extra = mqtt_yaml(plug_ids, mode == "mqtt-equivalent") if integration == "mqtt" else ""
        source = greennet_at(mode.split("@", 1)[1], Path(tmp)) if "@" in mode else None
        rig = Rig(Path(tmp), extra_yaml=extra, greennet_source=source, history=recorder)
        sim: Simulator | None = None
        try:
            await rig.start()
            print("  hass up", flush=True)
            await asyncio.sleep(5)
            rss_before = rss_mib(rig.ha_pid)
            sim = Simulator(
                SimulatorConfig(
                    port=rig.mqtt_port,
                    username=MQTT_USER,
                    password=MQTT_PASSWORD,
                    count=count,
                    interval=1,
                )
            )
            await sim.start()
            await sim.wait_online(60)
            await setup_integration(rig, integration)
            print("  integration set up", flush=True)
            entities = await entity_map(rig, integration, plug_ids)
            print("  entities live; measuring", flush=True)
            await asyncio.sleep(5)
            rss_after = rss_mib(rig.ha_pid)
            # Idle baseline: the same entities, plugs online, no telemetry for a window.
            for plug in sim.plugs:
                plug.state.interval = 10**6
            await asyncio.sleep(3)
            idle_cpu0, idle_t0 = cpu_seconds(rig.ha_pid), time.monotonic()
            idle_messages = await count_telemetry(rig, window / 2)
            idle_rate = (cpu_seconds(rig.ha_pid) - idle_cpu0) / (time.monotonic() - idle_t0)
            for plug in sim.plugs:
                plug.state.interval = 1
            await asyncio.sleep(3)
            cpu0 = cpu_seconds(rig.ha_pid)
            t0 = time.monotonic()
            messages = await count_telemetry(rig, window)
            cpu = cpu_seconds(rig.ha_pid) - cpu0
            elapsed = time.monotonic() - t0
            marginal = cpu - idle_rate * elapsed
            top = await profile(rig.ha_pid, window / 2) if profile_it else None
            probe = plug_ids[0]
            print("  latency", flush=True)
            lat = await latency_probe(rig, sim, probe, entities[probe]["power"], samples)
            print("  relay round trip", flush=True)
            relay = await relay_round_trip(rig, entities[plug_ids[1]]["switch"], samples)
            return {
                "mode": mode,
                "count": count,
                "messages": messages,
                "idle_messages": idle_messages,
                "seconds": elapsed,
                "cpu": cpu,
                "idle_rate": idle_rate,
                "cpu_per_1000": cpu / messages * 1000 if messages else 0.0,
                "marginal_per_1000": marginal / messages * 1000 if messages else 0.0,
                "profile": top,
                "latency": summary(lat),
                "relay": summary(relay),
                "rss_before": rss_before,
                "rss_after": rss_after,
            }
        finally:
            if sim is not None:
                await sim.stop()
            await rig.stop()


def _ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}" if reference else "-"


def _per_plug(r: dict[str, Any]) -> float:
    """RSS growth per plug, KiB."""
    return float((r["rss_after"] - r["rss_before"]) * 1024 / r["count"])


def _marginal(r: dict[str, Any]) -> float:
    """Marginal HA CPU seconds per 1000 telemetry messages."""
    return float(r["marginal_per_1000"])


def round_ratios(results: list[dict[str, Any]]) -> list[str]:
    """Per plug count and mode, each round's ratios against that round's baselines, and
    their median (markdown rows)."""
    refs = {(r["mode"], r["count"], r["round"]): r for r in results}
    rows = []
    for count in sorted({r["count"] for r in results}):
        for mode in dict.fromkeys(r["mode"] for r in results):
            if mode in ("mqtt", "mqtt-equivalent"):
                continue
            cells = []
            for base_mode, figure in (
                ("mqtt", _marginal),
                ("mqtt-equivalent", _marginal),
                ("mqtt", _per_plug),
            ):
                ratios = []
                for r in results:
                    base = refs.get((base_mode, count, r["round"]))
                    if r["mode"] != mode or r["count"] != count or base is None:
                        continue
                    if reference := figure(base):
                        ratios.append(figure(r) / reference)
                cells.append(
                    f"{', '.join(f'{x:.2f}' for x in ratios)} "
                    f"(median {statistics.median(ratios):.2f})"
                    if ratios
                    else "-"
                )
            rows.append(f"| {count} | {mode} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return [
        "| plugs | mode | marginal CPU vs MQTT, per round | vs MQTT-equivalent, per round "
        "| RSS / plug vs MQTT, per round |",
        "| --- | --- | --- | --- | --- |",
        *rows,
    ]


def report(results: list[dict[str, Any]], command: str) -> str:
    """Markdown section for bench/RESULTS.md.

    Ratios are against `mqtt` (the five core entities per plug) and, when the run has it,
    `mqtt-equivalent` (every entity GreenNet creates) at the same plug count, in the same
    round.
    """
    rows = [
        "| plugs | round | mode | msgs | idle HA CPU % | HA CPU s / 1000 msgs | marginal s / 1000 "
        "msgs | marginal vs MQTT / vs MQTT-equivalent | publish→state p50 / p99 ms | relay "
        "round trip p50 / p99 ms | RSS KiB / plug | RSS vs MQTT / vs MQTT-equivalent |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    refs = {(r["mode"], r["count"], r["round"]): r for r in results}
    profiles = []
    for r in results:
        base = refs.get(("mqtt", r["count"], r["round"]))
        equal = refs.get(("mqtt-equivalent", r["count"], r["round"]))
        cpu = " / ".join(
            _ratio(r["marginal_per_1000"], ref["marginal_per_1000"] if ref else None)
            for ref in (base, equal)
        )
        rss = " / ".join(
            _ratio(_per_plug(r), _per_plug(ref) if ref else None) for ref in (base, equal)
        )
        rows.append(
            f"| {r['count']} | {r['round']} | {r['mode']} | {r['messages']} | "
            f"{r['idle_rate'] * 100:.1f} | "
            f"{r['cpu_per_1000']:.3f} | {r['marginal_per_1000']:.3f} | {cpu} | "
            f"{r['latency']['p50']:.1f} / {r['latency']['p99']:.1f} | "
            f"{r['relay']['p50']:.1f} / {r['relay']['p99']:.1f} | "
            f"{_per_plug(r):.0f} | {rss} |"
        )
        if r.get("profile"):
            profiles.append(
                f"Profile, {r['mode']} with {r['count']} plugs (round {r['round']}):"
                f"\n\n{r['profile']}\n"
            )
    summary_rows = round_ratios(results) if len({r["round"] for r in results}) > 1 else []
    if summary_rows:
        rows += ["", "Each round's ratios, and their median:", "", *summary_rows]
    return (
        f"### Home Assistant: GreenNet vs HA MQTT ({time.strftime('%Y-%m-%d')}, "
        f"commit {git_rev()})\n\n{machine_info()}\n\n`{command}`\n\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(profiles)
    )


async def main() -> None:
    """Run the matrix and print (and optionally record) the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, short windows")
    parser.add_argument("--counts", type=int, nargs="*")
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--profile", action="store_true", help="py-spy the GreenNet runs")
    parser.add_argument(
        "--recorder",
        action="store_true",
        help="with HA's recorder and Energy dashboard (the demo's configuration); without it "
        "by default, as in every run before 2026-12-01 evening",
    )
    parser.add_argument(
        "--modes",
        nargs="*",
        default=["mqtt", "greennet"],
        help="mqtt, mqtt-equivalent, greennet, greennet@<git ref> (see run_one)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the modes this many times, in alternating order; ratios within each round",
    )
    parser.add_argument("--window", type=float, help="seconds of telemetry measured per run")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    counts = args.counts or ([10, 50] if args.quick else [50, 200])
    window, samples = (15.0, 20) if args.quick else (60.0, 100)
    window = args.window or window
    results = []
    for count in counts:
        for round_number in range(1, args.rounds + 1):
            order = args.modes if round_number % 2 else list(reversed(args.modes))
            for mode in order:
                print(f"… {mode} with {count} plugs, round {round_number}", flush=True)
                profile_it = args.profile and mode == "greennet" and round_number == 1
                result = await run_one(mode, count, window, samples, profile_it, args.recorder)
                results.append({**result, "round": round_number})
    text = report(results, "python -m bench.ha_bench " + " ".join(sys.argv[1:]))
    record_results(text, args.write)


if __name__ == "__main__":
    asyncio.run(main())
