"""The keyring: one set of keys per purpose, each key with an id, so a key can rotate.

Purposes: `access_token` (HS256 signing), `device_ingest` (deriving device HMAC secrets),
`totp_secret` (AES-GCM encryption of stored TOTP secrets). The first key of a purpose is
the current one (signs, derives new credentials, encrypts); every key of the purpose still
verifies, derives for the credentials made with it, and decrypts. Rotating is adding a new
first key; retiring is removing an old one once nothing needs it.

A keyring comes from a JSON file (`GREENNET_KEYRING_FILE`, or `keyring.json` in the data
dir) or, for installations that only have the single signing secret, is derived from that
secret with the same derivations as before, under the key id `root`, so upgrading keeps every
token and device credential valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PURPOSES = ("access_token", "device_ingest", "totp_secret")
LEGACY_KEY_ID = "root"
# what each purpose's key was derived with from the single signing secret (never change)
_ROOT_DERIVATIONS = {
    "access_token": "greennet access token v1",
    "device_ingest": "greennet device ingest v1",
    "totp_secret": "greennet totp secret v1",
}
KEY_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
MIN_KEY_BYTES = 32
KEYRING_FILE = "keyring.json"


class KeyringError(ValueError):
    """The keyring file or a sealed value is not usable."""


@dataclass(frozen=True, slots=True)
class Key:
    """One key: its id (public, in tokens and rows) and its material (secret)."""

    id: str
    material: bytes

    def __repr__(self) -> str:  # never the material, not even in a traceback
        return f"Key(id={self.id!r})"


@dataclass(frozen=True, slots=True)
class KeySet:
    """The keys of one purpose, current first."""

    keys: tuple[Key, ...]

    @property
    def current(self) -> Key:
        """The key that signs, derives and encrypts."""
        return self.keys[0]

    def get(self, key_id: str) -> Key | None:
        """The key with this id, if the ring still holds it."""
        return next((key for key in self.keys if key.id == key_id), None)


@dataclass(frozen=True, slots=True)
class Keyring:
    """Every purpose's keys."""

    access_token: KeySet
    device_ingest: KeySet
    totp_secret: KeySet

    @classmethod
    def from_root_secret(cls, secret: str) -> Keyring:
        """The keyring an installation with only `GREENNET_SECRET` has (key id `root`)."""
        sets = {
            purpose: KeySet((Key(LEGACY_KEY_ID, _derive(secret, label)),))
            for purpose, label in _ROOT_DERIVATIONS.items()
        }
        return cls(**sets)

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        """Parse `{"<purpose>": [{"id": "...", "key": "<base64url>"}, ...], ...}`."""
        try:
            data = json.loads(text)
        except ValueError:
            raise KeyringError("the keyring is not valid JSON") from None
        if not isinstance(data, dict) or set(data) != set(PURPOSES):
            raise KeyringError(f"the keyring must have exactly these purposes: {PURPOSES}")
        return cls(**{purpose: _key_set(purpose, data[purpose]) for purpose in PURPOSES})

    def to_json(self) -> str:
        """The keyring file's text."""
        return json.dumps(
            {
                purpose: [
                    {"id": key.id, "key": base64.urlsafe_b64encode(key.material).decode()}
                    for key in getattr(self, purpose).keys
                ]
                for purpose in PURPOSES
            },
            indent=2,
        )

    def rotated(self, purpose: str, key_id: str) -> Keyring:
        """A copy with a new random current key for `purpose` (the old keys stay)."""
        keys: KeySet = getattr(self, purpose)
        if not KEY_ID_RE.fullmatch(key_id) or keys.get(key_id) is not None:
            raise KeyringError(f"key id {key_id!r} is invalid or already used for {purpose}")
        new = KeySet((Key(key_id, secrets.token_bytes(MIN_KEY_BYTES)), *keys.keys))
        return Keyring(**{name: getattr(self, name) for name in PURPOSES} | {purpose: new})

    def retired(self, purpose: str, key_id: str) -> Keyring:
        """A copy without the (non-current) key `key_id` of `purpose`."""
        keys: KeySet = getattr(self, purpose)
        if keys.get(key_id) is None or keys.current.id == key_id:
            raise KeyringError(f"{key_id!r} is not a retirable {purpose} key")
        kept = KeySet(tuple(key for key in keys.keys if key.id != key_id))
        return Keyring(**{name: getattr(self, name) for name in PURPOSES} | {purpose: kept})

    def seal_totp_secret(self, secret: str) -> str:
        """`<key id>:<base64url(nonce + AES-GCM ciphertext)>` of a TOTP secret."""
        key = self.totp_secret.current
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(key.material).encrypt(nonce, secret.encode(), key.id.encode())
        return f"{key.id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open_totp_secret(self, sealed: str) -> str:
        """The TOTP secret in a sealed value; `KeyringError` if no key of ours opens it."""
        key_id, _, payload = sealed.partition(":")
        key = self.totp_secret.get(key_id)
        if key is None or not payload:
            raise KeyringError(f"no totp_secret key {key_id!r} in the keyring")
        try:
            raw = base64.urlsafe_b64decode(payload)
            plain = AESGCM(key.material).decrypt(raw[:12], raw[12:], key.id.encode())
        except (ValueError, InvalidTag):
            raise KeyringError("a sealed TOTP secret does not open with its key") from None
        return plain.decode()

    def is_sealed_with_current(self, sealed: str) -> bool:
        """Whether `sealed` is already encrypted with the current TOTP key."""
        return sealed.partition(":")[0] == self.totp_secret.current.id and ":" in sealed


def _key_set(purpose: str, entries: Any) -> KeySet:
    if not isinstance(entries, list) or not entries:
        raise KeyringError(f"{purpose}: a non-empty list of keys is required")
    keys: list[Key] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise KeyringError(f"{purpose}: every key needs an 'id' and a 'key'")
        key_id = entry["id"]
        try:
            encoded = str(entry.get("key", ""))
            material = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            raise KeyringError(f"{purpose} key {key_id!r} is not base64url") from None
        if not KEY_ID_RE.fullmatch(key_id) or any(key.id == key_id for key in keys):
            raise KeyringError(f"{purpose}: key id {key_id!r} is invalid or repeated")
        if len(material) < MIN_KEY_BYTES:
            raise KeyringError(f"{purpose} key {key_id!r} is shorter than {MIN_KEY_BYTES} bytes")
        keys.append(Key(key_id, material))
    return KeySet(tuple(keys))


def load_keyring_file(path: Path) -> Keyring:
    """Read a keyring file."""
    return Keyring.from_json(path.read_text(encoding="utf-8"))


def write_keyring_file(path: Path, keyring: Keyring) -> None:
    """Write a keyring file atomically, mode 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(keyring.to_json() + "\n")
    temporary.replace(path)


def _derive(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
