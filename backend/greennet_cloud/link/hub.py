"""What the cloud does with a linked hub's messages: who it is, the plugs it announces, its
telemetry and its plugs' state. Knows nothing of websockets (`connection` calls it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import Clock
from ..db.engine import reading, reading_each_statement
from ..errors import DomainError, NotFound, Unauthenticated
from ..models import DeviceState, LinkToken
from ..protocol import PLUG_ID_RE
from ..security.tokens import hash_secret
from ..services.base import Service
from ..services.device_states import DeviceStates, StateReport
from ..services.devices import DeviceDetails, Devices
from ..services.ingest import Ingest, IngestReport
from ..storage import device_states as state_store
from ..storage import devices as device_store
from ..storage import links as link_store
from ..storage import live_links as live_store
from .messages import AnnouncedPlug, Hello, PlugStateReport


@dataclass(frozen=True, slots=True)
class Announced:
    """The answer to `devices`: the device id of each plug now in the home, and the plug ids
    refused (malformed, or held by another home: never said which)."""

    devices: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


class HubLink(Service):
    """Use cases of a linked hub, each scoped to the home of its link token."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        devices: Devices,
        ingest: Ingest,
        states: DeviceStates,
    ) -> None:
        super().__init__(engine, clock)
        self.devices = devices
        self.ingest = ingest
        self.states = states

    async def authenticate(self, token: str) -> LinkToken:
        """The active link token presented on the upgrade request (noted as used)."""
        async with self.engine.begin() as conn:
            link = await link_store.find_active_link_token(conn, hash_secret(token), self.now())
        if link is None:
            raise Unauthenticated("unknown or revoked link token", "invalid_link_token")
        return link

    async def hello(self, link: LinkToken, connection_id: str, hello: Hello) -> None:
        """Keep what the hub says about itself beside its live link."""
        async with self.engine.begin() as conn:
            await live_store.note_hello(
                conn,
                link.id,
                connection_id,
                hub_id=hello.hub_id,
                sw_version=hello.sw_version,
                ha_version=hello.ha_version,
            )

    async def announce(self, link: LinkToken, plugs: list[AnnouncedPlug]) -> Announced:
        """Make the announced plugs devices of the linked home (the announcement is the
        proof), route their commands to this hub, and store the online flags it reported."""
        answer = Announced()
        wanted = {plug.plug_id for plug in plugs if PLUG_ID_RE.fullmatch(plug.plug_id)}
        async with reading(self.engine).begin() as conn:
            found = await device_store.devices_in_home(conn, link.home_id, wanted)
        for plug in plugs:
            if plug.plug_id not in wanted:
                answer.refused.append(plug.plug_id)
                continue
            device = found.get(plug.plug_id)
            if device is None:
                try:
                    device, _created = await self.devices.claim_announced(
                        link, plug.plug_id, DeviceDetails(name=plug.name, model=plug.model)
                    )
                except DomainError:  # held by another home (or a race lost): not said why
                    answer.refused.append(plug.plug_id)
                    continue
                found[plug.plug_id] = device
            answer.devices[plug.plug_id] = device.id
        async with self.engine.begin() as conn:
            await state_store.set_announcing_link(
                conn, link.home_id, list(answer.devices.values()), link.id
            )
        now = self.now()
        await self.states.report(
            [
                StateReport(found[plug.plug_id], DeviceState(online=plug.online), now)
                for plug in plugs
                if plug.online is not None and plug.plug_id in answer.devices
            ]
        )
        return answer

    async def telemetry(self, link: LinkToken, samples: list[Any]) -> IngestReport:
        """A telemetry batch, through the one ingest path (idempotent on device and ts)."""
        return await self.ingest.from_link(link.home_id, samples)

    async def state(self, link: LinkToken, report: PlugStateReport) -> None:
        """One plug's reported state; `NotFound` for a plug the home does not hold."""
        async with reading_each_statement(self.engine).begin() as conn:
            device = await device_store.find_in_home(conn, link.home_id, report.plug_id)
        if device is None:
            raise NotFound("no such plug in the linked home (announce it first)", "unknown_plug")
        await self.states.report_one(
            StateReport(device, report.state, self.states.moment(report.ts))
        )
