"""Typed application and request keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from .live_hub import LiveHub

from ..bus import Bus
from ..clock import Clock
from ..config import Config
from ..delivery.outbox_worker import OutboxWorker
from ..jobs import JobRunner
from ..link.hub import HubLink
from ..link.node import LinkNode
from ..link.remote import RemoteControl
from ..security.passwords import PasswordHasher
from ..security.session_cache import SessionCache
from ..services.account_mail import AccountMail
from ..services.accounts import Accounts
from ..services.admin import Administration
from ..services.alert_evaluation import AlertEvaluation
from ..services.alerts import AlertNews, Alerts
from ..services.base import Principal
from ..services.device_states import DeviceStates
from ..services.devices import Devices
from ..services.energy import EnergyReports
from ..services.history import Histories
from ..services.homes import Homes
from ..services.ingest import Ingest
from ..services.invitations import Invitations
from ..services.live import LiveEvents, LiveTickets
from ..services.notifications import Notifications
from ..services.notifier import Notifier
from ..services.thresholds import Thresholds
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
NOTIFIER = web.AppKey("notifier", Notifier)
NOTIFICATIONS = web.AppKey("notifications", Notifications)
OUTBOX = web.AppKey("outbox", OutboxWorker)
ACCOUNT_MAIL = web.AppKey("account_mail", AccountMail)
THRESHOLDS = web.AppKey("thresholds", Thresholds)
ALERTS = web.AppKey("alerts", Alerts)
ALERT_EVALUATION = web.AppKey("alert_evaluation", AlertEvaluation)
ALERT_NEWS = web.AppKey("alert_news", AlertNews)
LIVE_EVENTS = web.AppKey("live_events", LiveEvents)
LIVE_TICKETS = web.AppKey("live_tickets", LiveTickets)
LIVE_HUB: web.AppKey[LiveHub] = web.AppKey("live_hub")
INVITATIONS = web.AppKey("invitations", Invitations)
INGEST = web.AppKey("ingest", Ingest)
HISTORIES = web.AppKey("histories", Histories)
JOBS = web.AppKey("jobs", JobRunner)
ENERGY = web.AppKey("energy", EnergyReports)
DEVICE_STATES = web.AppKey("device_states", DeviceStates)
HUB_LINK = web.AppKey("hub_link", HubLink)
LINK_NODE = web.AppKey("link_node", LinkNode)
REMOTE = web.AppKey("remote", RemoteControl)

HEALTH = web.AppKey("health", DatabaseHealth)
REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", Principal)
