"""Constants of the GreenNet Cloud link (timings are module attributes so tests shorten them)."""

from __future__ import annotations

from typing import Final

# Config entry data: the link lives under one key, {url, home_id, token}; nothing else.
CONF_CLOUD: Final = "cloud"
CONF_CLOUD_URL: Final = "url"
CONF_HOME_ID: Final = "home_id"
CONF_LINK_TOKEN: Final = "token"  # noqa: S105  # the key, not a token
# Marker in the data of a reauth flow started because the cloud refused the link token.
REAUTH_CLOUD: Final = "cloud_link_reauth"

# Link timing, seconds (docs/cloud-link.md).
PING_INTERVAL: float = 30.0
IDLE_TIMEOUT: float = 90.0
BACKOFF_BASE: float = 1.0
BACKOFF_CAP: float = 300.0
STABLE_LINK: float = 60.0
HANDSHAKE_TIMEOUT: float = 10.0
# An unanswered telemetry batch this old means a stuck connection: reconnect and resend.
ACK_TIMEOUT: float = 30.0
# A sample waits this long for others to share its batch.
BATCH_LINGER: float = 0.25
# Batches in flight (sent, not acknowledged) at once.
BATCH_WINDOW: int = 4
# How long a remote command waits for the plug (the cloud gives up after 10 s).
COMMAND_TIMEOUT: float = 8.0
# REST calls of the link flow.
REQUEST_TIMEOUT: float = 15.0

# The backlog: samples kept while the cloud is unreachable, persisted with HA's Store.
BACKLOG_MAX_SAMPLES: int = 100_000
BACKLOG_SAVE_DELAY: float = 10.0
BACKLOG_STORAGE_VERSION: Final = 1

ISSUE_BACKLOG_OVERFLOW: Final = "cloud_backlog_overflow"
ISSUE_UNSUPPORTED_LINK: Final = "cloud_link_unsupported"
