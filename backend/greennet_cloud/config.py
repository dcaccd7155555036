"""Service configuration: defaults, `GREENNET_*` environment variables, the signing secret."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from .security.keyring import KEYRING_FILE, Keyring, load_keyring_file

SECRET_FILE = "signing.key"  # noqa: S105 (a file name, not a secret)  # noqa: S105 (a file name, not a secret)
DB_FILE = "greennet.db"
MIN_SECRET_LENGTH = 32
REGISTRATION_MODES = ("open", "invite", "closed")
# per-address throttles count an IPv6 client by its network of this many bits
IPV6_PREFIX_RANGE = range(32, 129)


@dataclass(frozen=True, slots=True)
class PasswordHashing:
    """argon2id cost (defaults follow OWASP: 19 MiB, 2 passes, 1 lane) and its workers.

    `workers` threads hash at most (0: half the cores, at least one), so a login flood leaves
    the other cores to everything else; `max_waiting` more may queue, beyond that a request
    is refused at once with 503 and Retry-After instead of waiting without bound.
    """

    time_cost: int = 2
    memory_cost_kib: int = 19_456
    parallelism: int = 1
    workers: int = 0
    max_waiting: int = 16

    @property
    def worker_threads(self) -> int:
        """`workers`, or half the cores (at least one) when 0."""
        return self.workers if self.workers > 0 else max(1, (os.cpu_count() or 2) // 2)


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """Password checks per sliding window.

    `per_account` failures per (account, client network) then 429 for that network only;
    past `per_account` failures per account from all networks together, each attempt waits
    a delay doubling from `first_delay_seconds` to `max_delay_seconds` (never a refusal of
    the right password); `per_address` failures per client network, over all accounts.
    """

    window_seconds: int = 900
    per_account: int = 5
    per_address: int = 20
    first_delay_seconds: int = 1
    max_delay_seconds: int = 30


@dataclass(frozen=True, slots=True)
class RegistrationThrottle:
    """Accounts one client address may register per sliding window.

    Five an hour lets a household sign up its members (and retry a typo) while holding a
    script to a handful of accounts instead of thousands; a refused attempt is not counted.
    """

    window_seconds: int = 3600
    per_address: int = 5


class SmtpSecurity(StrEnum):
    """How the connection to the SMTP server is protected."""

    STARTTLS = "starttls"  # plain connect, then STARTTLS (required): port 587
    TLS = "tls"  # TLS from the first byte: port 465
    NONE = "none"  # no TLS at all: only for a relay on the same host or in tests


@dataclass(frozen=True, slots=True)
class Smtp:
    """The mail server notifications and account mail go through (off without a host)."""

    host: str | None = None
    port: int = 587
    username: str | None = None
    password: str | None = None
    sender: str = "GreenNet <greennet@localhost>"
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    timeout_seconds: float = 30

    @property
    def enabled(self) -> bool:
        """Whether mail can be sent at all."""
        return bool(self.host)


@dataclass(frozen=True, slots=True)
class Delivery:
    """The notification outbox: polling, retries with backoff, webhooks."""

    poll_seconds: float = 5
    retry_base_seconds: int = 30
    retry_max_seconds: int = 3600
    # a message still undelivered this long after it was queued is given up (and logged)
    give_up_after_seconds: int = 3 * 24 * 3600
    # a claimed message is safe from other processes this long: far above any send timeout
    lease_seconds: int = 300
    batch_size: int = 20
    webhook_timeout_seconds: float = 10
    # webhooks to loopback, private and link-local addresses are refused unless allowed
    webhook_allow_private: bool = False
    # test deliveries (POST …/webhook/test) each user may ask for per hour
    webhook_tests_per_hour: int = 10


@dataclass(frozen=True, slots=True)
class Live:
    """The live websocket: who may open it from a browser, and how clients are kept."""

    # browser origins allowed besides the service's own (same host, GREENNET_PUBLIC_URL)
    allowed_origins: tuple[str, ...] = ()
    public_origin: str | None = None  # filled in from public_url
    heartbeat_seconds: float = 30.0
    queue_size: int = 1024  # updates waiting per client; one more and the client is dropped
    recheck_seconds: float = 60.0  # sessions and subscriptions checked again this often
    max_subscriptions: int = 500


@dataclass(frozen=True, slots=True)
class Retention:
    """How long telemetry is kept, in days (0: forever), and how often the jobs run.

    Rollups are computed from the finer level, so each level is kept at least as long as
    the one below it (checked by `Config.resolve`).
    """

    raw_days: int = 30
    minute_days: int = 90
    hour_days: int = 5 * 366
    day_days: int = 0
    command_days: int = 365  # the remote command audit trail (0: forever)
    rollup_interval_seconds: float = 10.0
    retention_interval_seconds: float = 3600.0

    def with_intervals(self, rollup: float | None, retention: float | None) -> Retention:
        """A copy with the given job intervals (None keeps one)."""
        return dataclasses.replace(
            self,
            rollup_interval_seconds=self.rollup_interval_seconds if rollup is None else rollup,
            retention_interval_seconds=(
                self.retention_interval_seconds if retention is None else retention
            ),
        )


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """The HA link (docs/cloud-link.md): keep-alive, command timeout, node heartbeat, sizes.

    A node (process) refreshes its rows in `live_links` every `heartbeat_seconds`; a row not
    refreshed for three heartbeats belongs to a stopped or crashed node and is ignored.
    """

    ping_interval_seconds: float = 30.0
    idle_timeout_seconds: float = 90.0
    command_timeout_seconds: float = 10.0
    heartbeat_seconds: float = 10.0
    max_frame_bytes: int = 1024 * 1024
    max_batch: int = 1000  # samples per telemetry message
    max_plugs: int = 1000  # plugs per devices message

    @property
    def expiry_seconds(self) -> float:
        """How long a live link row stays believed without its node's heartbeat."""
        return 3 * self.heartbeat_seconds


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the service needs; `resolve()` fills in the data dir derived values."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("greennet-data")
    database_url: str | None = None
    secret: str | None = None
    # a keyring file (security/keyring.py); without one the keys derive from `secret`
    keyring_file: Path | None = None
    keyring: Keyring | None = None  # filled in by resolve()
    issuer: str = "greennet-cloud"
    audience: str = "greennet-api"
    access_ttl_seconds: int = 900
    refresh_ttl_seconds: int = 30 * 24 * 3600
    # a session with no login or refresh for this long ends (ASVS 7.3.1)
    idle_timeout_seconds: int = 3 * 24 * 3600
    pairing_ttl_seconds: int = 600
    max_body_bytes: int = 1024 * 1024
    # a device that has not reported for this long shows as offline
    offline_after_seconds: int = 300
    auto_migrate: bool = True
    # reverse proxies (addresses or networks) whose X-Forwarded-For we believe; empty:
    # the header is ignored and the TCP peer is the client
    trusted_proxies: tuple[str, ...] = ()
    # who may create an account: anyone, holders of an admin's invitation, nobody (admins
    # still create accounts with `greennet-cloud create-admin`)
    registration: str = "open"
    # an IPv6 host usually holds a whole /64: throttle by that network, not by address
    throttle_ipv6_prefix: int = 64
    password_hashing: PasswordHashing = field(default_factory=PasswordHashing)
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    registration_throttle: RegistrationThrottle = field(default_factory=RegistrationThrottle)
    # database connections per process (no overflow: beyond them requests wait, then 503)
    database_pool_size: int = 10
    # PostgreSQL: asyncpg connections per process for the hot reads (db/fast_reads.py),
    # opened on demand beside the pool. Each takes one query at a time and its answer is
    # read once per turn of the event loop, so they bound the reads answered per turn.
    database_read_connections: int = 16
    # how long a request may trust a session it found live (0: ask the database every time)
    session_cache_seconds: float = 5.0
    # one INFO line per request (the access log); off leaves it to the proxy in front
    access_log: bool = True
    retention: Retention = field(default_factory=Retention)
    # run the background jobs (rollups, retention) in this process
    run_jobs: bool = True
    smtp: Smtp = field(default_factory=Smtp)
    delivery: Delivery = field(default_factory=Delivery)
    live: Live = field(default_factory=Live)
    # where users reach the service (links in mails); None: http://host:port
    public_url: str | None = None

    @property
    def base_url(self) -> str:
        """The service's public address, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def live_settings(self) -> Live:
        """The websocket settings, with this service's public origin."""
        return dataclasses.replace(self.live, public_origin=self.public_url)

    link: LinkSettings = field(default_factory=LinkSettings)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, SQLite in the data dir when none is configured."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / DB_FILE).resolve()}"

    @property
    def on_postgresql(self) -> bool:
        """Whether the database is PostgreSQL (several processes may share it)."""
        return make_url(self.resolved_database_url).drivername.startswith("postgresql")

    def resolve(self) -> Config:
        """Check the settings; return a copy with the keyring loaded (or generated).

        Where the keys come from, in order: `keyring_file`; `keyring.json` in the data dir
        (what `rotate-key` writes); `secret` (keys derived from it, key id `root`); the data
        dir's generated `signing.key`. On PostgreSQL one of the first three is required:
        processes sharing a database must share their keys, and a key each process invents
        for itself would make every other process's tokens look forged.
        """
        if self.throttle_ipv6_prefix not in IPV6_PREFIX_RANGE:
            raise ValueError(
                f"GREENNET_THROTTLE_IPV6_PREFIX={self.throttle_ipv6_prefix} is not an IPv6 prefix"
                f" length from {IPV6_PREFIX_RANGE.start} to {IPV6_PREFIX_RANGE.stop - 1}"
            )
        if self.session_cache_seconds < 0 or self.session_cache_seconds > 60:
            raise ValueError("GREENNET_SESSION_CACHE_SECONDS must be from 0 to 60")
        if self.database_pool_size < 1:
            raise ValueError("GREENNET_DB_POOL_SIZE must be at least 1")
        if self.database_read_connections < 1:
            raise ValueError("GREENNET_DB_READ_CONNECTIONS must be at least 1")
        if self.password_hashing.workers < 0 or self.password_hashing.max_waiting < 0:
            raise ValueError("GREENNET_ARGON2_WORKERS and GREENNET_ARGON2_QUEUE must be >= 0")
        _check_retention(self.retention)
        longest_send = max(self.smtp.timeout_seconds, self.delivery.webhook_timeout_seconds)
        if self.delivery.lease_seconds < 2 * longest_send:
            raise ValueError(
                "the outbox lease must be at least twice the longest send timeout"
                f" ({2 * longest_send:g} s), or a slow send could be taken over and sent twice"
            )
        if self.public_url is not None and not self.public_url.startswith(("https://", "http://")):
            raise ValueError(f"GREENNET_PUBLIC_URL={self.public_url!r} is not an http(s) URL")
        for origin in self.live.allowed_origins:
            if not origin.startswith(("https://", "http://")) or origin.count("/") != 2:
                raise ValueError(f"GREENNET_WS_ORIGINS: {origin!r} is not an origin (https://host)")
        if self.live.queue_size < 1 or self.live.heartbeat_seconds <= 0:
            raise ValueError("GREENNET_WS_QUEUE must be >= 1 and GREENNET_WS_HEARTBEAT > 0")
        _check_link(self.link)
        if self.registration not in REGISTRATION_MODES:
            raise ValueError(
                f"GREENNET_REGISTRATION={self.registration} is not one of"
                f" {', '.join(REGISTRATION_MODES)}"
            )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"GREENNET_TRUSTED_PROXIES: {proxy!r} is not an IP address or network"
                ) from None
        if self.secret is not None and len(self.secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the signing secret must be at least {MIN_SECRET_LENGTH} chars")
        if self.keyring_file is not None:
            return dataclasses.replace(self, keyring=load_keyring_file(self.keyring_file))
        if (self.data_dir / KEYRING_FILE).exists():  # written by `greennet-cloud rotate-key`
            return dataclasses.replace(
                self, keyring=load_keyring_file(self.data_dir / KEYRING_FILE)
            )
        if self.secret is not None:
            return dataclasses.replace(self, keyring=Keyring.from_root_secret(self.secret))
        if self.on_postgresql:
            raise ValueError(
                "on PostgreSQL set GREENNET_SECRET, GREENNET_SECRET_FILE or"
                " GREENNET_KEYRING_FILE: every process sharing the database needs the same keys"
            )
        secret = load_or_create_secret(self.data_dir)
        return dataclasses.replace(self, secret=secret, keyring=Keyring.from_root_secret(secret))


def _check_retention(retention: Retention) -> None:
    levels = [
        ("GREENNET_RETENTION_RAW_DAYS", retention.raw_days),
        ("GREENNET_RETENTION_1M_DAYS", retention.minute_days),
        ("GREENNET_RETENTION_1H_DAYS", retention.hour_days),
        ("GREENNET_RETENTION_1D_DAYS", retention.day_days),
    ]
    if retention.command_days < 0:
        raise ValueError("GREENNET_RETENTION_COMMANDS_DAYS must be 0 (forever) or more")
    if retention.raw_days < 1:
        raise ValueError("GREENNET_RETENTION_RAW_DAYS must be at least 1")
    for (name, days), (finer, finer_days) in zip(levels[1:], levels, strict=False):
        if days < 0 or (days != 0 and (finer_days == 0 or days < finer_days)):
            raise ValueError(f"{name}={days} must be 0 (forever) or at least {finer}")
    if min(retention.rollup_interval_seconds, retention.retention_interval_seconds) <= 0:
        raise ValueError("job intervals must be positive")


def _check_link(link: LinkSettings) -> None:
    timings = (
        link.ping_interval_seconds,
        link.idle_timeout_seconds,
        link.command_timeout_seconds,
        link.heartbeat_seconds,
    )
    if min(timings) <= 0:
        raise ValueError("GREENNET_LINK_* times must be positive")
    if link.idle_timeout_seconds <= link.ping_interval_seconds:
        raise ValueError("GREENNET_LINK_IDLE_TIMEOUT must be longer than the ping interval")


def load_or_create_secret(data_dir: Path) -> str:
    """Read the persisted signing secret, creating it (mode 0600) on first use."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"{path} holds no usable secret; delete it to regenerate") from None
        return secret
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret


# name of the environment variable → (Config field, converter)
ENV_FIELDS: dict[str, tuple[str, type]] = {
    "GREENNET_HOST": ("host", str),
    "GREENNET_PORT": ("port", int),
    "GREENNET_DATA_DIR": ("data_dir", Path),
    "GREENNET_DATABASE_URL": ("database_url", str),
    "GREENNET_SECRET": ("secret", str),
    "GREENNET_KEYRING_FILE": ("keyring_file", Path),
    "GREENNET_REGISTRATION": ("registration", str),
    "GREENNET_ISSUER": ("issuer", str),
    "GREENNET_AUDIENCE": ("audience", str),
    "GREENNET_ACCESS_TTL": ("access_ttl_seconds", int),
    "GREENNET_REFRESH_TTL": ("refresh_ttl_seconds", int),
    "GREENNET_IDLE_TIMEOUT": ("idle_timeout_seconds", int),
    "GREENNET_PAIRING_TTL": ("pairing_ttl_seconds", int),
    "GREENNET_MAX_BODY": ("max_body_bytes", int),
    "GREENNET_OFFLINE_AFTER": ("offline_after_seconds", int),
    "GREENNET_PROXY_HOPS": ("proxy_hops", int),
    "GREENNET_THROTTLE_IPV6_PREFIX": ("throttle_ipv6_prefix", int),
    "GREENNET_SESSION_CACHE_SECONDS": ("session_cache_seconds", float),
    "GREENNET_PUBLIC_URL": ("public_url", str),
    "GREENNET_DB_POOL_SIZE": ("database_pool_size", int),
    "GREENNET_DB_READ_CONNECTIONS": ("database_read_connections", int),
}


def config_from_env(env: Mapping[str, str], base: Config | None = None) -> Config:
    """Overlay `GREENNET_*` variables on `base`; unknown variables are ignored."""
    config = base or Config()
    changes: dict[str, Any] = {}
    for name, (attr, convert) in ENV_FIELDS.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            changes[attr] = convert(raw)
        except ValueError:
            raise ValueError(f"{name}={raw!r} is not a valid {convert.__name__}") from None
    if env.get("GREENNET_PROXY_HOPS"):
        raise ValueError(
            "GREENNET_PROXY_HOPS is gone: it believed X-Forwarded-For from any peer; list your"
            " proxies' addresses or networks in GREENNET_TRUSTED_PROXIES instead"
        )
    if proxies := env.get("GREENNET_TRUSTED_PROXIES"):
        changes["trusted_proxies"] = tuple(
            part.strip() for part in proxies.split(",") if part.strip()
        )
    if (secret_file := env.get("GREENNET_SECRET_FILE")) and "secret" not in changes:
        changes["secret"] = Path(secret_file).read_text(encoding="utf-8").strip()
    if auto := env.get("GREENNET_AUTO_MIGRATE"):
        changes["auto_migrate"] = auto.lower() not in {"0", "false", "no", "off"}
    if access_log := env.get("GREENNET_ACCESS_LOG"):
        changes["access_log"] = access_log.lower() not in {"0", "false", "no", "off"}
    if jobs := env.get("GREENNET_RUN_JOBS"):
        changes["run_jobs"] = jobs.lower() not in {"0", "false", "no", "off"}
    retention = _overlay(
        config.retention,
        env,
        {
            "GREENNET_RETENTION_RAW_DAYS": "raw_days",
            "GREENNET_RETENTION_1M_DAYS": "minute_days",
            "GREENNET_RETENTION_1H_DAYS": "hour_days",
            "GREENNET_RETENTION_1D_DAYS": "day_days",
            "GREENNET_RETENTION_COMMANDS_DAYS": "command_days",
        },
    )
    retention = retention.with_intervals(
        _seconds(env, "GREENNET_ROLLUP_INTERVAL"), _seconds(env, "GREENNET_RETENTION_INTERVAL")
    )
    link_changes: dict[str, Any] = {}
    for name, attr in (
        ("GREENNET_LINK_PING_INTERVAL", "ping_interval_seconds"),
        ("GREENNET_LINK_IDLE_TIMEOUT", "idle_timeout_seconds"),
        ("GREENNET_LINK_COMMAND_TIMEOUT", "command_timeout_seconds"),
        ("GREENNET_LINK_HEARTBEAT", "heartbeat_seconds"),
    ):
        if (seconds := _seconds(env, name)) is not None:
            link_changes[attr] = seconds
    link = dataclasses.replace(config.link, **link_changes)
    hashing = _overlay(
        config.password_hashing,
        env,
        {
            "GREENNET_ARGON2_TIME_COST": "time_cost",
            "GREENNET_ARGON2_MEMORY_KIB": "memory_cost_kib",
            "GREENNET_ARGON2_PARALLELISM": "parallelism",
            "GREENNET_ARGON2_WORKERS": "workers",
            "GREENNET_ARGON2_QUEUE": "max_waiting",
        },
    )
    throttle = _overlay(
        config.login_throttle,
        env,
        {
            "GREENNET_LOGIN_WINDOW": "window_seconds",
            "GREENNET_LOGIN_PER_ACCOUNT": "per_account",
            "GREENNET_LOGIN_PER_ADDRESS": "per_address",
            "GREENNET_LOGIN_MAX_DELAY": "max_delay_seconds",
        },
    )
    registration = _overlay(
        config.registration_throttle,
        env,
        {
            "GREENNET_REGISTER_WINDOW": "window_seconds",
            "GREENNET_REGISTER_PER_ADDRESS": "per_address",
        },
    )
    return dataclasses.replace(
        config,
        password_hashing=hashing,
        login_throttle=throttle,
        registration_throttle=registration,
        retention=retention,
        smtp=smtp_from_env(env, config.smtp),
        delivery=_overlay_typed(
            config.delivery,
            env,
            {
                "GREENNET_OUTBOX_POLL": ("poll_seconds", float),
                "GREENNET_OUTBOX_RETRY_BASE": ("retry_base_seconds", int),
                "GREENNET_OUTBOX_RETRY_MAX": ("retry_max_seconds", int),
                "GREENNET_OUTBOX_GIVE_UP": ("give_up_after_seconds", int),
                "GREENNET_OUTBOX_LEASE": ("lease_seconds", int),
                "GREENNET_WEBHOOK_TIMEOUT": ("webhook_timeout_seconds", float),
                "GREENNET_WEBHOOK_ALLOW_PRIVATE": ("webhook_allow_private", _boolean),
                "GREENNET_WEBHOOK_TESTS_PER_HOUR": ("webhook_tests_per_hour", int),
            },
        ),
        live=_overlay_typed(
            config.live,
            env,
            {
                "GREENNET_WS_ORIGINS": ("allowed_origins", _origins),
                "GREENNET_WS_HEARTBEAT": ("heartbeat_seconds", float),
                "GREENNET_WS_QUEUE": ("queue_size", int),
            },
        ),
        link=link,
        **changes,
    )


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())


_origins.__name__ = "comma-separated list of origins"


def smtp_from_env(env: Mapping[str, str], base: Smtp) -> Smtp:
    """`GREENNET_SMTP_*` over `base`; the password may come from a file."""
    smtp = _overlay_typed(
        base,
        env,
        {
            "GREENNET_SMTP_HOST": ("host", str),
            "GREENNET_SMTP_PORT": ("port", int),
            "GREENNET_SMTP_USERNAME": ("username", str),
            "GREENNET_SMTP_PASSWORD": ("password", str),
            "GREENNET_SMTP_FROM": ("sender", str),
            "GREENNET_SMTP_SECURITY": ("security", SmtpSecurity),
            "GREENNET_SMTP_TIMEOUT": ("timeout_seconds", float),
        },
    )
    if (password_file := env.get("GREENNET_SMTP_PASSWORD_FILE")) and smtp.password is None:
        password = Path(password_file).read_text(encoding="utf-8").strip()
        smtp = dataclasses.replace(smtp, password=password)
    return smtp


def _boolean(raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


_boolean.__name__ = "boolean (true/false)"


def _overlay_typed[T: (Smtp, Delivery, Live)](
    value: T, env: Mapping[str, str], names: dict[str, tuple[str, Any]]
) -> T:
    changes: dict[str, Any] = {}
    for name, (attr, convert) in names.items():
        if raw := env.get(name):
            try:
                changes[attr] = convert(raw)
            except ValueError:
                what = getattr(convert, "__name__", "value")
                raise ValueError(f"{name}={raw!r} is not a valid {what}") from None
    return dataclasses.replace(value, **changes)


def _seconds(env: Mapping[str, str], name: str) -> float | None:
    if not (raw := env.get(name)):
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


def _overlay[T: (PasswordHashing, LoginThrottle, RegistrationThrottle, Retention)](
    value: T, env: Mapping[str, str], names: dict[str, str]
) -> T:
    changes: dict[str, int] = {}
    for name, attr in names.items():
        if raw := env.get(name):
            try:
                changes[attr] = int(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not an integer") from None
    return dataclasses.replace(value, **changes)
