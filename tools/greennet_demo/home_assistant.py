"""Drive a fresh Home Assistant over its own APIs: onboarding, GreenNet entry, dashboard."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import aiohttp

DASHBOARD_PATH = "greennet-demo"


class HomeAssistantError(RuntimeError):
    """Home Assistant refused a step of the demo setup."""


def greennet_key(entity: dict[str, Any]) -> str:
    """Which value of its plug a GreenNet entity shows: its unique id is `<plug id>_<key>`."""
    return str(entity.get("unique_id", "")).partition("_")[2]


@dataclass
class HomeAssistantClient:
    """Just enough of HA's REST and websocket APIs for the demo."""

    base: str
    session: aiohttp.ClientSession
    token: str = ""

    @property
    def client_id(self) -> str:
        """The OAuth client id HA expects: the frontend's own URL."""
        return self.base + "/"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """JSON request; raise with HA's answer when it is not a success."""
        async with self.session.request(
            method, self.base + path, headers=self._headers(), **kwargs
        ) as resp:
            body = await resp.json(content_type=None) if resp.content_length != 0 else None
            if resp.status >= 400:
                raise HomeAssistantError(f"{method} {path} -> {resp.status}: {body}")
            return body

    # --- onboarding and login -------------------------------------------------

    async def _token_from_code(self, code: str) -> None:
        data = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        answer = await self.request("POST", "/auth/token", data=data)
        self.token = answer["access_token"]

    async def onboard_or_login(self, username: str, password: str) -> bool:
        """Complete onboarding with a demo owner, or log in if a re-run; True if onboarded now."""
        async with self.session.get(self.base + "/api/onboarding") as resp:
            # HA stops serving the onboarding API once onboarding is complete.
            steps = await resp.json() if resp.status == 200 else [{"step": "user", "done": True}]
        done = {step["step"] for step in steps if step["done"]}
        if "user" not in done:
            answer = await self.request(
                "POST",
                "/api/onboarding/users",
                json={
                    "client_id": self.client_id,
                    "name": "GreenNet Demo",
                    "username": username,
                    "password": password,
                    "language": "en",
                },
            )
            await self._token_from_code(answer["auth_code"])
            for step in ("core_config", "analytics"):
                if step not in done:
                    await self.request("POST", f"/api/onboarding/{step}", json={})
            if "integration" not in done:
                await self.request(
                    "POST",
                    "/api/onboarding/integration",
                    json={"client_id": self.client_id, "redirect_uri": self.client_id},
                )
            return True
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        )
        answer = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json={"client_id": self.client_id, "username": username, "password": password},
        )
        if answer.get("type") != "create_entry":
            raise HomeAssistantError(f"demo login refused: {answer.get('errors')}")
        await self._token_from_code(answer["result"])
        return False

    # --- the GreenNet config entry --------------------------------------------

    async def ensure_greennet_entry(self, broker: dict[str, Any]) -> None:
        """Add GreenNet through its config flow unless an entry exists already."""
        entries = await self.request("GET", "/api/config/config_entries/entry?domain=greennet")
        if any(entry["state"] == "loaded" for entry in entries):
            return
        for entry in entries:  # a stale entry from an earlier run with other ports
            await self.request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
        await self.run_config_flow("greennet", broker)

    async def run_config_flow(self, handler: str, answers: dict[str, Any]) -> None:
        """Walk an integration's config flow, answering each form from `answers`."""
        step = await self.request(
            "POST",
            "/api/config/config_entries/flow",
            json={"handler": handler, "show_advanced_options": False},
        )
        while step["type"] == "form":
            fields = {f["name"] for f in step.get("data_schema", [])}
            answer = {k: v for k, v in answers.items() if k in fields}
            step = await self.request(
                "POST", f"/api/config/config_entries/flow/{step['flow_id']}", json=answer
            )
            if step["type"] == "form" and step.get("errors"):
                raise HomeAssistantError(f"{handler} setup refused: {step['errors']}")
        if step["type"] != "create_entry":
            raise HomeAssistantError(f"{handler} setup ended with {step}")

    # --- the cloud link ------------------------------------------------------------

    async def greennet_entry_id(self) -> str:
        """The loaded GreenNet entry."""
        entries = await self.request("GET", "/api/config/config_entries/entry?domain=greennet")
        return str(next(e["entry_id"] for e in entries if e["state"] == "loaded"))

    async def ensure_cloud_link(self, url: str, email: str, password: str, home_id: str) -> bool:
        """Link GreenNet to a cloud home in its options flow, as a user would; False if linked."""
        flows = "/api/config/config_entries/options/flow"
        step = await self.request("POST", flows, json={"handler": await self.greennet_entry_id()})
        if "cloud_link" not in step.get("menu_options", []):
            await self.request("DELETE", f"{flows}/{step['flow_id']}")
            return False  # a re-run: linked already
        answers = [
            {"next_step_id": "cloud_link"},
            {"url": url, "email": email, "password": password},
            {"home": home_id},
        ]
        for answer in answers:
            step = await self.request("POST", f"{flows}/{step['flow_id']}", json=answer)
            if step.get("errors"):
                raise HomeAssistantError(f"linking refused: {step['errors']}")
        if step["type"] != "create_entry":
            raise HomeAssistantError(f"linking ended with {step}")
        return True

    # --- the Energy dashboard ----------------------------------------------------

    async def ensure_energy_dashboard(self) -> list[str]:
        """Every plug's energy sensor as an individual device in the Energy dashboard."""
        sensors = sorted(
            e["entity_id"]
            for e in await self.greennet_entities()
            if e["entity_id"].startswith("sensor.") and greennet_key(e) == "energy"
        )
        devices = list((await self.energy_prefs()).get("device_consumption", []))
        known = {d["stat_consumption"] for d in devices}
        devices += [{"stat_consumption": sensor} for sensor in sensors if sensor not in known]
        await self.ws({"type": "energy/save_prefs", "device_consumption": devices})
        return sensors

    async def energy_prefs(self) -> dict[str, Any]:
        """The Energy dashboard's settings ({} before anything was set up)."""
        try:
            (prefs,) = await self.ws({"type": "energy/get_prefs"})
        except HomeAssistantError:  # a fresh Home Assistant has none yet ("not_found")
            return {}
        return dict(prefs)

    async def energy_devices(self) -> list[str]:
        """Statistics the Energy dashboard shows as individual devices."""
        prefs = await self.energy_prefs()
        return [str(d["stat_consumption"]) for d in prefs.get("device_consumption", [])]

    # --- websocket --------------------------------------------------------------

    async def ws(self, *commands: dict[str, Any]) -> list[Any]:
        """Run websocket commands in order; return their results."""
        results: list[Any] = []
        counter = itertools.count(1)
        async with self.session.ws_connect(self.base + "/api/websocket") as sock:
            await sock.receive_json()  # auth_required
            await sock.send_json({"type": "auth", "access_token": self.token})
            if (await sock.receive_json())["type"] != "auth_ok":
                raise HomeAssistantError("websocket auth refused")
            for command in commands:
                msg_id = next(counter)
                await sock.send_json({"id": msg_id, **command})
                while True:
                    msg = await sock.receive_json()
                    if msg.get("id") == msg_id and msg.get("type") == "result":
                        break
                if not msg["success"]:
                    raise HomeAssistantError(f"{command['type']}: {msg.get('error')}")
                results.append(msg["result"])
        return results

    async def greennet_entities(self) -> list[dict[str, Any]]:
        """Entity registry entries of the GreenNet platform."""
        (entities,) = await self.ws({"type": "config/entity_registry/list"})
        return [e for e in entities if e["platform"] == "greennet"]

    async def greennet_devices(self) -> dict[str, str]:
        """device_id -> plug id for every GreenNet device."""
        (devices,) = await self.ws({"type": "config/device_registry/list"})
        found = {}
        for device in devices:
            for domain, identifier in device["identifiers"]:
                if domain == "greennet":
                    found[device["id"]] = identifier
        return found

    async def ensure_dashboard(self) -> None:
        """A 'GreenNet' dashboard: a power tile and a relay tile per plug."""
        entities = await self.greennet_entities()
        by_device: dict[str, dict[str, str]] = {}
        for entity in entities:
            domain = entity["entity_id"].split(".")[0]
            key = greennet_key(entity)
            if domain == "switch" or (domain == "sensor" and key in ("power", "energy")):
                slot = "switch" if domain == "switch" else key
                by_device.setdefault(entity["device_id"], {})[slot] = entity["entity_id"]
        cards = []
        for slots in by_device.values():
            tiles = [
                {"type": "tile", "entity": slots[s]}
                for s in ("power", "energy", "switch")
                if s in slots
            ]
            cards.append({"type": "grid", "columns": 3, "square": False, "cards": tiles})
        config = {
            "title": "GreenNet",
            "views": [{"title": "Plugs", "path": "plugs", "cards": cards}],
        }
        (dashboards,) = await self.ws({"type": "lovelace/dashboards/list"})
        if not any(d["url_path"] == DASHBOARD_PATH for d in dashboards):
            await self.ws(
                {
                    "type": "lovelace/dashboards/create",
                    "url_path": DASHBOARD_PATH,
                    "title": "GreenNet",
                    "icon": "mdi:power-plug",
                    "mode": "storage",
                    "show_in_sidebar": True,
                    "require_admin": False,
                }
            )
        await self.ws(
            {"type": "lovelace/config/save", "url_path": DASHBOARD_PATH, "config": config}
        )

    async def states(self) -> dict[str, dict[str, Any]]:
        """entity_id -> state object."""
        return {s["entity_id"]: s for s in await self.request("GET", "/api/states")}

    async def call(self, domain: str, service: str, data: dict[str, Any]) -> None:
        """Call a service (action)."""
        await self.request("POST", f"/api/services/{domain}/{service}", json=data)
