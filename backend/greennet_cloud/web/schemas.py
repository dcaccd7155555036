"""JSON Schemas (OpenAPI 3.1 components) of every request and response body."""

from __future__ import annotations

import zoneinfo
from typing import Any

from ..security.common_passwords import POLICY_RELEVANT, SCHEMA_EXAMPLES

STR = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
ACCESS = {"type": "string", "enum": ["owner", "control", "read"]}
PERMISSION = {"type": "string", "enum": ["control", "read"]}
ROLE = {"type": "string", "enum": ["admin", "user", "guest"]}
# request strings carry the same limits the parsers and services enforce
NAME = {
    "type": "string",
    "maxLength": 100,
    "pattern": r"^[^\x00-\x1f]*[^\s\x00-\x1f][^\x00-\x1f]*$",
    "description": "Trimmed; must not be blank or contain control characters",
}
OPTIONAL_TEXT = {"type": "string", "maxLength": 100, "pattern": r"^[^\x00-\x1f]*$"}
PASSWORD_RULES = {
    "type": "string",
    "minLength": 8,
    "maxLength": 128,
    "not": {"enum": SCHEMA_EXAMPLES},
    "description": (
        f"8-128 characters, not one of the {len(POLICY_RELEVANT)} common or breached passwords"
        " of that length (zxcvbn's list, compared ignoring case); the enum names a few"
    ),
}
PASSWORD = {"$ref": "#/components/schemas/Password"}  # the list is long: written once
EMAIL = {"type": "string", "format": "email", "maxLength": 254}
ANY_TEXT = {"type": "string", "maxLength": 1000}
SECOND_FACTOR = {
    "type": ["string", "null"],
    "maxLength": 32,
    "description": "A TOTP code, or a recovery code; needed when two-factor is on",
}
PLUG_ID = {
    "type": "string",
    "pattern": "^greennet-[0-9a-f]{6}$",
    "maxLength": 15,
    "example": "greennet-1a2b3c",
}

CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code"}
TIMEZONE = {
    "type": "string",
    "enum": sorted(zoneinfo.available_timezones()),
    "description": "IANA time zone; days and months of energy start at local midnight",
}


def ref(name: str) -> dict[str, str]:
    """A `$ref` to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def response(properties: dict[str, Any]) -> dict[str, Any]:
    """A response object: every listed property present, nothing else."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def request(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A request object (unknown fields are ignored, for forward compatibility)."""
    return {"type": "object", "properties": properties, "required": list(required)}


def array_of(name: str) -> dict[str, Any]:
    """An array of a component."""
    return {"type": "array", "items": ref(name)}


USER = {
    "id": STR,
    "email": STR,
    "display_name": STR,
    "role": ROLE,
    "disabled": {"type": "boolean"},
    "totp_enabled": {"type": "boolean"},
    "created_at": TIME,
}
UUID = {"type": "string", "format": "uuid"}
DEVICE = {
    "id": UUID,
    "plug_id": PLUG_ID,
    "home_id": STR,
    "name": STR,
    "model": STR,
    "location": STR,
    "access": ACCESS,
    "created_at": TIME,
    "last_seen_at": MAYBE_TIME,
    "online": {
        "type": "boolean",
        "description": "Reported within GREENNET_OFFLINE_AFTER, unless its hub said it went "
        "offline since",
    },
    "relay": {
        "type": ["string", "null"],
        "enum": ["ON", "OFF", None],
        "description": "As the linked hub last reported or confirmed it (null: never)",
    },
    "tripped": {
        "type": ["boolean", "null"],
        "description": "Overload protection tripped, as the linked hub last reported",
    },
}
INVITATION = {
    "id": STR,
    "email": {"type": ["string", "null"]},
    "created_at": TIME,
    "expires_at": TIME,
}
CREDENTIAL = {"id": STR, "device_id": UUID, "created_at": TIME, "revoked_at": MAYBE_TIME}
LINK = {
    "id": STR,
    "home_id": STR,
    "name": STR,
    "created_at": TIME,
    "last_used_at": MAYBE_TIME,
    "connected": {"type": "boolean", "description": "Its hub's link is up now"},
    "connected_at": {**MAYBE_TIME, "description": "Since when its link is up"},
}
SAMPLE = {
    "ts": {"type": "integer", "description": "Unix milliseconds"},
    "power": {"type": "number", "minimum": 0, "maximum": 25_000, "description": "W"},
    "voltage": {"type": "number", "minimum": 0, "maximum": 500, "description": "V"},
    "current": {"type": "number", "minimum": 0, "maximum": 100, "description": "A"},
    "energy": {"type": "number", "minimum": 0, "maximum": 1e9, "description": "kWh, lifetime"},
    "relay": {"type": "string", "enum": ["ON", "OFF"]},
}
DEVICE_FIELDS = {"name": OPTIONAL_TEXT, "model": OPTIONAL_TEXT, "location": OPTIONAL_TEXT}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": response({"error": STR, "message": STR}),
    "Password": PASSWORD_RULES,
    "Health": response({"status": {"type": "string", "enum": ["ok"]}}),
    "OpenApiDocument": {"type": "object"},
    "Credentials": request(
        {"email": EMAIL, "password": PASSWORD, "invitation": {"type": "string", "maxLength": 100}},
        ("email", "password"),
    ),
    "Login": request(
        {
            "email": ANY_TEXT,
            "password": ANY_TEXT,
            "totp": {"type": ["string", "null"], "maxLength": 32},
        },
        ("email", "password"),
    ),
    "TokenPair": response(
        {
            "access_token": STR,
            "refresh_token": STR,
            "token_type": {"type": "string", "enum": ["bearer"]},
            "expires_in": {"type": "integer", "minimum": 1},
        }
    ),
    "RefreshRequest": request({"refresh_token": ANY_TEXT}, ("refresh_token",)),
    "PasswordChange": request(
        {"current_password": ANY_TEXT, "new_password": PASSWORD, "totp": SECOND_FACTOR},
        ("current_password", "new_password"),
    ),
    "Reauth": request({"current_password": ANY_TEXT, "totp": SECOND_FACTOR}, ("current_password",)),
    "AdminPasswordReset": request(
        {"current_password": ANY_TEXT, "totp": SECOND_FACTOR, "new_password": PASSWORD},
        ("current_password", "new_password"),
    ),
    "RecoveryCodes": response({"recovery_codes": {"type": "array", "items": STR, "minItems": 1}}),
    "Session": response(
        {
            "id": STR,
            "created_at": TIME,
            "last_used_at": TIME,
            "expires_at": TIME,
            "current": {"type": "boolean"},
        }
    ),
    "SessionList": array_of("Session"),
    "TotpEnrollment": response({"secret": STR, "otpauth_uri": STR}),
    "TotpConfirm": request(
        {
            "code": {"type": "string", "maxLength": 32, "minLength": 1},
            "current_password": ANY_TEXT,
        },
        ("code", "current_password"),
    ),
    "User": response(USER),
    "UserList": array_of("User"),
    "ProfileUpdate": request(
        {"display_name": NAME, "email": EMAIL, "current_password": ANY_TEXT, "totp": SECOND_FACTOR}
    ),
    "UserAdminUpdate": request({"role": ROLE, "disabled": {"type": "boolean"}}),
    "Invitation": response(INVITATION),
    "InvitationList": array_of("Invitation"),
    "NewInvitation": response({**INVITATION, "token": STR}),
    "InvitationCreate": request(
        {"email": EMAIL, "ttl_days": {"type": "integer", "minimum": 1, "maximum": 30}}
    ),
    "Home": response(
        {
            "id": STR,
            "name": STR,
            "access": ACCESS,
            "created_at": TIME,
            "timezone": STR,
            "tariff": {"oneOf": [{"type": "null"}, ref("TariffValue")]},
        }
    ),
    "TariffValue": response(
        {"price_per_kwh": {"type": "number", "minimum": 0, "maximum": 1000}, "currency": CURRENCY}
    ),
    "HomeList": array_of("Home"),
    "HomeCreate": request({"name": NAME, "timezone": TIMEZONE}, ("name",)),
    "HomeUpdate": request(
        {
            "name": NAME,
            "timezone": TIMEZONE,
            "tariff": {"oneOf": [{"type": "null"}, ref("TariffValue")]},
        }
    ),
    "Device": response(DEVICE),
    "DeviceList": array_of("Device"),
    "DeviceClaim": request(
        {"device_id": UUID, "secret": {"type": "string", "maxLength": 200}, **DEVICE_FIELDS},
        ("device_id", "secret"),
    ),
    "DeviceUpdate": request(DEVICE_FIELDS),
    "Credential": response(CREDENTIAL),
    "CredentialList": array_of("Credential"),
    "NewCredential": response({**CREDENTIAL, "secret": STR}),
    "DeviceWithCredential": response({"device": ref("Device"), "credential": ref("NewCredential")}),
    "PairRequest": request(
        {"code": {"type": "string", "maxLength": 32}, "device_id": PLUG_ID, **DEVICE_FIELDS},
        ("code", "device_id"),
    ),
    "PairingCode": response({"code": STR, "home_id": STR, "expires_at": TIME}),
    "Share": response(
        {
            "id": STR,
            "email": STR,
            "home_id": {"type": ["string", "null"]},
            "device_id": {"type": ["string", "null"]},
            "permission": PERMISSION,
            "created_at": TIME,
        }
    ),
    "ShareList": array_of("Share"),
    "ShareCreate": request({"email": EMAIL, "permission": PERMISSION}, ("email", "permission")),
    "LinkToken": response(LINK),
    "LinkTokenList": array_of("LinkToken"),
    "NewLinkToken": response({**LINK, "token": STR}),
    "LinkTokenCreate": request({"name": OPTIONAL_TEXT}),
    "IngestSamples": request(
        {"samples": {"type": "array", "maxItems": 10_000, "items": ref("Sample")}},
        ("samples",),
    ),
    "IngestBatch": request(
        {"samples": {"type": "array", "maxItems": 10_000, "items": ref("BatchSample")}},
        ("samples",),
    ),
    "Sample": request(SAMPLE, tuple(SAMPLE)),
    "BatchSample": request(
        {
            "device_id": {
                "type": "string",
                "maxLength": 64,
                "description": "The plug id (greennet-xxxxxx) in the linked home, or the "
                "device's cloud id",
            },
            **SAMPLE,
        },
        ("device_id", *SAMPLE),
    ),
    "TelemetryHistory": response(
        {
            "device_id": UUID,
            "resolution": {"type": "string", "enum": ["raw", "1m", "1h", "1d"]},
            "from": {"type": "integer"},
            "to": {"type": "integer"},
            "truncated": {
                "type": "boolean",
                "description": "More points follow: ask again from the last ts",
            },
            "points": {
                "type": "array",
                "items": {"oneOf": [ref("SamplePoint"), ref("RollupPoint")]},
            },
        }
    ),
    "SamplePoint": response(SAMPLE),
    "RollupPoint": response(
        {
            "ts": {"type": "integer", "description": "Bucket start, Unix ms"},
            "samples": {"type": "integer", "minimum": 1},
            "power": {"type": "number", "description": "Average W"},
            "power_min": {"type": "number"},
            "power_max": {"type": "number"},
            "energy_delta": {"type": "number", "description": "kWh used in the bucket"},
        }
    ),
    "EnergyReport": response(
        {
            "period": {"type": "string", "enum": ["day", "month"]},
            "timezone": STR,
            "currency": {"type": ["string", "null"]},
            "price_per_kwh": {"type": ["number", "null"]},
            "total_kwh": {"type": "number"},
            "total_cost": {"type": ["number", "null"]},
            "truncated": {"type": "boolean"},
            "periods": {
                "type": "array",
                "items": response(
                    {
                        "start": {"type": "string", "format": "date"},
                        "energy_kwh": {"type": "number", "minimum": 0},
                        "cost": {"type": ["number", "null"]},
                    }
                ),
            },
        }
    ),
    "CsvText": {"type": "string", "description": "CSV with a header line"},
    "IngestReport": response(
        {
            "stored": {"type": "integer", "minimum": 0},
            "duplicates": {"type": "integer", "minimum": 0},
            "rejected": {"type": "integer", "minimum": 0},
            "errors": {
                "type": "array",
                "items": response(
                    {"index": {"type": "integer", "minimum": 0}, "error": STR, "message": STR}
                ),
            },
        }
    ),
}
