"""The current schema, used by storage queries. Migrations create it; a test proves they agree.

Every table hangs off `users`, `homes` or `devices` so deletes cascade. Devices have two
keys: `id` (a UUID, the public id in every API path and answer) and `seq` (a compact
integer that only telemetry tables use, so a sample row stays small).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .types import UtcDateTime

metadata = MetaData()

ID = 36  # uuid4 text

users = Table(
    "users",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("disabled", Boolean, nullable=False),
    # AES-GCM ciphertext "<key id>:<base64>" (security/keyring.py), never the plain secret
    Column("totp_secret", String(255)),
    Column("totp_enabled", Boolean, nullable=False),
    Column("totp_last_step", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# one row per login; refresh tokens rotate inside it ("family")
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("revoked_reason", String(32)),
    # last login or refresh: a session unused for the idle timeout ends
    Column("last_used_at", UtcDateTime),
    Index("ix_sessions_user", "user_id"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", String(ID), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Index("ix_refresh_tokens_session", "session_id"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("failed_at", UtcDateTime, nullable=False),
    Index("ix_login_failures_key_time", "key", "failed_at"),
    Index("ix_login_failures_time", "failed_at"),  # the background sweep
)

# one-time codes that stand in for a TOTP code at login (hash only)
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Index("ix_recovery_codes_user", "user_id"),
)

# single-use, expiring invitations (hash only): `kind` says what accepting one does
# ("registration" now; sharing with an address that has no account next), `details`
# is kind-specific JSON
invitations = Table(
    "invitations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("email", String(254)),
    Column("details", Text, nullable=False),
    Column("created_by", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("accepted_at", UtcDateTime),
    Column("accepted_by", String(ID), ForeignKey("users.id", ondelete="SET NULL")),
    Index("ix_invitations_created_by", "created_by"),
)

homes = Table(
    "homes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("owner_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # IANA zone: days and months of energy start at local midnight
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("tariff_price_per_kwh", Float),  # optional tariff: cost next to energy
    Column("tariff_currency", String(3)),
    Index("ix_homes_owner", "owner_id"),
)

devices = Table(
    "devices",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # telemetry's compact key
    Column("id", String(ID), nullable=False, unique=True),  # public id (uuid4)
    Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE"), nullable=False),
    Column("plug_id", String(32), nullable=False),  # protocol plug id, greennet-xxxxxx
    Column("name", String(100), nullable=False),
    Column("model", String(100), nullable=False),
    Column("location", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime),
    # the state the linked HA hub last reported (state messages, confirmed commands)
    Column("relay", Boolean),
    Column("tripped", Boolean),
    Column("reported_online", Boolean),
    Column("state_at", UtcDateTime),
    # the hub link that announced the plug, so remote commands go to the hub that sees it;
    # no foreign key: link tokens are revoked, never deleted, except with their home
    Column("link_token_id", String(ID)),
    # a plug id means something only inside its home: two homes may hold the same one
    UniqueConstraint("home_id", "plug_id", name="uq_devices_home_plug"),
    Index("ix_devices_plug", "plug_id"),  # a hub's announcement checks other homes
    sqlite_autoincrement=True,  # never reuse a deleted device's seq
)

# the ingest secret is derived from the server key and `nonce`; only its id is ever listed
device_credentials = Table(
    "device_credentials",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("device_id", String(ID), ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("nonce", String(64), nullable=False),
    # the device-ingest key of the keyring the secret was derived with
    Column("key_id", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Index("ix_device_credentials_device", "device_id"),
)

pairing_codes = Table(
    "pairing_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)

shares = Table(
    "shares",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("grantee_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE")),
    Column("device_id", String(ID), ForeignKey("devices.id", ondelete="CASCADE")),
    Column("permission", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("grantee_id", "home_id", name="uq_shares_grantee_home"),
    UniqueConstraint("grantee_id", "device_id", name="uq_shares_grantee_device"),
    Index("ix_shares_home", "home_id"),
    Index("ix_shares_device", "device_id"),
)

link_tokens = Table(
    "link_tokens",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Index("ix_link_tokens_home", "home_id"),
)

# --- telemetry -------------------------------------------------------------------------
# Times are Unix milliseconds (BIGINT), as on the wire: compact, and the same on both
# databases. On PostgreSQL `telemetry` is partitioned by day (RANGE on ts); partitions are
# named telemetry_pYYYYMMDD, created ahead by the job runner (and on demand by ingest), and
# retention drops whole partitions. On SQLite it is one WITHOUT ROWID table, clustered by
# its primary key, so one device's range is one contiguous read.
TELEMETRY_PARTITION_PREFIX = "telemetry_p"

telemetry = Table(
    "telemetry",
    metadata,
    Column("device_seq", Integer, ForeignKey("devices.seq", ondelete="CASCADE"), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("power", Float, nullable=False),  # W
    Column("voltage", Float, nullable=False),  # V
    Column("current", Float, nullable=False),  # A
    Column("energy", Float, nullable=False),  # kWh, the plug's lifetime counter
    Column("relay", Boolean, nullable=False),
    PrimaryKeyConstraint("device_seq", "ts", name="pk_telemetry"),
    postgresql_partition_by="RANGE (ts)",
    sqlite_with_rowid=False,
)


def _rollup(name: str) -> Table:
    """One rollup resolution: per device and bucket (start, Unix ms) min/avg/max power and
    the energy used in the bucket (counter increments; a counter drop starts a new cycle)."""
    return Table(
        name,
        metadata,
        Column(
            "device_seq", Integer, ForeignKey("devices.seq", ondelete="CASCADE"), nullable=False
        ),
        Column("bucket", BigInteger, nullable=False),
        Column("samples", Integer, nullable=False),
        Column("power_min", Float, nullable=False),
        Column("power_max", Float, nullable=False),
        Column("power_sum", Float, nullable=False),  # avg = power_sum / samples
        Column("energy", Float, nullable=False),  # kWh used in the bucket
        PrimaryKeyConstraint("device_seq", "bucket", name=f"pk_{name}"),
        sqlite_with_rowid=False,
    )


telemetry_1m = _rollup("telemetry_1m")
telemetry_1h = _rollup("telemetry_1h")
telemetry_1d = _rollup("telemetry_1d")

# minutes whose rollups must be recomputed (ingest marks them, the rollup job clears them)
rollup_pending = Table(
    "rollup_pending",
    metadata,
    Column("device_seq", Integer, ForeignKey("devices.seq", ondelete="CASCADE"), nullable=False),
    Column("bucket", BigInteger, nullable=False),
    PrimaryKeyConstraint("device_seq", "bucket", name="pk_rollup_pending"),
    sqlite_with_rowid=False,
)

# the marks a rollup run moved off `rollup_pending` (in a transaction of its own, so ingest
# never waits for the run), deleted as each is done; a run that died leaves them to the next
rollup_claimed = Table(
    "rollup_claimed",
    metadata,
    Column("device_seq", Integer, ForeignKey("devices.seq", ondelete="CASCADE"), nullable=False),
    Column("bucket", BigInteger, nullable=False),
    PrimaryKeyConstraint("device_seq", "bucket", name="pk_rollup_claimed"),
    sqlite_with_rowid=False,
)

# signatures of accepted device ingest requests, so one replayed inside the window is refused
ingest_signatures = Table(
    "ingest_signatures",
    metadata,
    Column("signature", String(64), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_ingest_signatures_expires", "expires_at"),
)

# the job runner's ledger: when each job last ran (and where), so it runs once per interval
job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("runs", Integer, nullable=False),
    Column("runner", String(100)),
    Column("last_error", String(500)),
)

# --- notifications (part 3) -------------------------------------------------------------

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", String(2000), nullable=False),
    Column("data", Text, nullable=False),  # JSON object of strings (ids for links)
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime),
    Index("ix_notifications_user_created", "user_id", "created_at"),
    Index("ix_notifications_user_read", "user_id", "read_at"),
)

# only the choices that differ from the defaults are stored
notification_preferences = Table(
    "notification_preferences",
    metadata,
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("type", String(40), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("enabled", Boolean, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("format", String(16), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("key_id", String(32), nullable=False),  # the keyring key the secret derives from
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# transactional outbox: a row is written with the event it announces, then sent by whichever
# process claims it first (FOR UPDATE SKIP LOCKED on PostgreSQL)
outbox = Table(
    "outbox",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("recipient", String(2048), nullable=False),
    Column("payload", Text, nullable=False),
    Column("state", String(10), nullable=False),  # pending / sent / failed
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("claim_id", String(ID)),  # the process run that holds it until next_attempt_at
    Column("finished_at", UtcDateTime),
    Column("last_error", String(500)),
    Index("ix_outbox_due", "state", "next_attempt_at"),
    Index("ix_outbox_user", "user_id"),
)

# --- thresholds and alerts (part 3) -----------------------------------------------------

thresholds = Table(
    "thresholds",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("device_id", String(ID), ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("metric", String(16), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("value", Float, nullable=False),
    Column("hysteresis", Float, nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("repeat", String(8), nullable=False),
    Column("quiet_start", String(5)),  # HH:MM in the home's time zone
    Column("quiet_end", String(5)),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("pending_since", UtcDateTime),  # evaluation state: out of range since
    Column("armed", Boolean, nullable=False),  # False: resolved by hand, waiting to be in range
    Index("ix_thresholds_device", "device_id"),
    Index("ix_thresholds_metric", "metric"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("threshold_id", String(ID), ForeignKey("thresholds.id", ondelete="SET NULL")),
    Column("device_id", String(ID), ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("metric", String(16), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("limit_value", Float, nullable=False),
    Column("state", String(16), nullable=False),
    Column("value", Float),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime),
    Column("acknowledged_by", String(ID), ForeignKey("users.id", ondelete="SET NULL")),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(ID), ForeignKey("users.id", ondelete="SET NULL")),
    Column("last_notified_at", UtcDateTime),
    Index("ix_alerts_device_raised", "device_id", "raised_at"),
    Index("ix_alerts_threshold_state", "threshold_id", "state"),
    Index("ix_alerts_state", "state"),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(ID), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="SET NULL")),
    Column("detail", String(200), nullable=False),
    Index("ix_alert_events_alert", "alert_id", "at"),
)

# --- account mail (part 3) --------------------------------------------------------------

# single-use, short-lived tokens mailed to an address: e-mail verification, password reset
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(16), nullable=False),  # verify_email / reset_password
    Column("email", String(254), nullable=False),  # the address it was sent to
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Index("ix_account_tokens_user", "user_id", "purpose"),
)

# an address counts as verified for an account while it is the account's address
verified_emails = Table(
    "verified_emails",
    metadata,
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("email", String(254), primary_key=True),
    Column("verified_at", UtcDateTime, nullable=False),
)

# --- live updates (part 3) --------------------------------------------------------------

# single-use tickets for opening the websocket (a browser cannot send a bearer header there)
live_tickets = Table(
    "live_tickets",
    metadata,
    Column("ticket_hash", String(64), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(ID), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Index("ix_live_tickets_user", "user_id"),
)

# the networks an account signed in from: a sign-in from a new one is worth telling about
login_networks = Table(
    "login_networks",
    metadata,
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("network", String(64), primary_key=True),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
)


# --- the HA link -------------------------------------------------------------------------
# which process ("node") holds the live link of each link token: one row per live link,
# kept fresh by the node's heartbeat; a row older than the expiry is a crashed node's lie
live_links = Table(
    "live_links",
    metadata,
    Column(
        "token_id", String(ID), ForeignKey("link_tokens.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE"), nullable=False),
    Column("node_id", String(32), nullable=False),
    Column("connection_id", String(ID), nullable=False),
    Column("connected_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("hub_id", String(64)),  # from hello: the HA config entry, integration and HA versions
    Column("sw_version", String(32)),
    Column("ha_version", String(32)),
    Index("ix_live_links_home", "home_id"),
    Index("ix_live_links_node", "node_id"),
)

# the audit trail of remote commands: who sent what to which plug, when, and the outcome
commands = Table(
    "commands",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("home_id", String(ID), ForeignKey("homes.id", ondelete="CASCADE"), nullable=False),
    Column("device_id", String(ID), ForeignKey("devices.id", ondelete="SET NULL")),
    Column("plug_id", String(32), nullable=False),
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="SET NULL")),
    Column("action", String(16), nullable=False),  # relay / protection
    Column("params", JSON, nullable=False),  # {"value": "ON"} / {"max_current": 10.0, ...}
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("result", String(32)),  # ok, hub_offline, plug_offline, timeout, …; null: pending
    Column("state", JSON),  # the confirmed state when ok
    Index("ix_commands_home_created", "home_id", "created_at"),
)
