"""Typed application and request keys."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ..bus import Bus
from ..clock import Clock
from ..config import Config
from ..jobs import JobRunner
from ..security.passwords import PasswordHasher
from ..security.session_cache import SessionCache
from ..services.accounts import Accounts
from ..services.admin import Administration
from ..services.base import Principal
from ..services.devices import Devices
from ..services.energy import EnergyReports
from ..services.history import Histories
from ..services.homes import Homes
from ..services.ingest import Ingest
from ..services.invitations import Invitations
from ..services.totp import TwoFactor
from .health import DatabaseHealth

CONFIG = web.AppKey("config", Config)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
ENGINE = web.AppKey("engine", AsyncEngine)
BUS = web.AppKey("bus", Bus)
SESSION_CACHE = web.AppKey("session_cache", SessionCache)
PASSWORD_HASHER = web.AppKey("password_hasher", PasswordHasher)
ACCOUNTS = web.AppKey("accounts", Accounts)
TWO_FACTOR = web.AppKey("two_factor", TwoFactor)
ADMINISTRATION = web.AppKey("administration", Administration)
HOMES = web.AppKey("homes", Homes)
DEVICES = web.AppKey("devices", Devices)
OPENAPI = web.AppKey("openapi", dict)
INVITATIONS = web.AppKey("invitations", Invitations)
INGEST = web.AppKey("ingest", Ingest)
HISTORIES = web.AppKey("histories", Histories)
JOBS = web.AppKey("jobs", JobRunner)
ENERGY = web.AppKey("energy", EnergyReports)

HEALTH = web.AppKey("health", DatabaseHealth)
REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", Principal)
