"""JSON Schemas (OpenAPI 3.1 components) of every request and response body."""

from __future__ import annotations

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
DEVICE = {
    "id": PLUG_ID,
    "home_id": STR,
    "name": STR,
    "model": STR,
    "location": STR,
    "access": ACCESS,
    "created_at": TIME,
    "last_seen_at": MAYBE_TIME,
}
INVITATION = {
    "id": STR,
    "email": {"type": ["string", "null"]},
    "created_at": TIME,
    "expires_at": TIME,
}
CREDENTIAL = {"id": STR, "device_id": PLUG_ID, "created_at": TIME, "revoked_at": MAYBE_TIME}
LINK = {"id": STR, "home_id": STR, "name": STR, "created_at": TIME, "last_used_at": MAYBE_TIME}
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
    "Home": response({"id": STR, "name": STR, "access": ACCESS, "created_at": TIME}),
    "HomeList": array_of("Home"),
    "HomeCreate": request({"name": NAME}, ("name",)),
    "Device": response(DEVICE),
    "DeviceList": array_of("Device"),
    "DeviceCreate": request({"id": PLUG_ID, **DEVICE_FIELDS}, ("id",)),
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
            "user_id": STR,
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
}
