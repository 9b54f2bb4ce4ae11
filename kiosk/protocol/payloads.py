"""Payload schemas of the fleet link (ARCHITECTURE.md, data flow 5–6), validated fast and strictly.

Every payload is compact JSON checked by a strict pydantic model (no
"12" -> 12 coercion; unknown fields are ignored so a newer kiosk can add
some). A payload larger than its kind's limit is refused before parsing.
The server's ingest validates ~4 µs per heartbeat, well inside its budget.

Errors (all ProtocolError, the sender is at fault: log and drop):

    PayloadError          malformed JSON, wrong types, missing fields
    └── PayloadTooLarge   more bytes than the kind's limit (checked first)

Additions to the original payloads (all additive): the heartbeat also carries `boot_id`,
`ts` (kiosk clock) and `period`; the status carries `ts` and `hb_s`; a
notice's ack carries `missing_glyphs` (per language, characters not drawn);
commands carry `kiosk`, `iat` and `exp` inside the signed bytes; the
screenshot topic carries a JSON header line followed by JPEG bytes; a pack
announcement carries `jitter_s`, the window kiosks spread their syncs over.

Command signatures: Ed25519 by the server's online command key over
`command_signing_bytes(cmd)` (a domain tag + the canonical JSON of every
field but `sig`); the kiosk verifies with the public key of its enrolment
bundle. Binding `kiosk` and `exp` into the signature stops a command from
being replayed at another kiosk or after it expired.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.jsonfmt import canonical_json
from kiosk.protocol.rollout import MAX_JITTER_S
from kiosk.protocol.topics import Kind

#: payload limits in bytes, per kind (the broker's own limit is higher)
MAX_BYTES: dict[Kind, int] = {
    Kind.STATUS: 1024,
    Kind.HB: 4096,
    Kind.EVENTS: 16 * 1024,
    Kind.CMD: 16 * 1024,
    Kind.ACK: 2048,
    Kind.SCREENSHOT: 1024 * 1024,
}
MAX_ANNOUNCE_BYTES = 256 * 1024
MAX_SERVER_STATUS_BYTES = 1024
#: longest header line of a screenshot payload
MAX_SCREENSHOT_HEADER = 1024
#: commands: domain tag prefixed to the signed bytes
COMMAND_SIG_DOMAIN = b"bgk-command-v1\n"

ID = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
TOKEN = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
SHORT = Annotated[str, Field(max_length=200)]


class PayloadError(ProtocolError):
    """A payload that breaks the contract: malformed JSON, wrong types, missing fields."""


class PayloadTooLarge(PayloadError):
    """A payload over its kind's byte limit; refused without parsing."""


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


# --- kiosk -> server ---------------------------------------------------------


class PackRef(_Model):
    id: ID
    version: Annotated[int, Field(ge=0)]
    #: sha256 of the pack's manifest.json (the TUF target)
    hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class UiState(_Model):
    #: the UI wrote its health recently (kiosk.local.HEALTH_STALE_S)
    alive: bool
    #: "attract" | "language" | "home" | "page:<id>" | "preparing", None when dead
    screen: Annotated[str, Field(max_length=80)] | None = None
    #: kiosk-clock time of the last touch (epoch s)
    last_touch: float | None = None


class Heartbeat(_Model):
    """`bgk/v1/kiosk/{id}/hb`, QoS 0, message expiry 2x period."""

    boot_id: TOKEN
    seq: Annotated[int, Field(ge=0)]
    #: kiosk clock when sent (epoch s; see time_floor)
    ts: float
    #: the kiosk's heartbeat period in s (the server judges lateness by it)
    period: Annotated[float, Field(ge=1, le=3600)]
    #: seconds since the machine booted
    uptime: Annotated[float, Field(ge=0)]
    #: the installed pack, None before the first install
    pack: PackRef | None
    ui: UiState
    #: CPU temperature in °C, None where the machine has no sensor
    temp: float | None
    #: free bytes on the state directory's file system
    disk_free: Annotated[int, Field(ge=0)] | None
    #: the kiosk never trusts a clock earlier than this (newest signed timestamp seen)
    time_floor: float
    #: the pack metadata expired: the kiosk keeps playing old content
    stale: bool
    #: agent software version
    agent: SHORT | None = None


class Status(_Model):
    """`bgk/v1/kiosk/{id}/status`, retained; the LWT carries online=false."""

    online: bool
    boot_id: TOKEN
    #: seq of this boot's first heartbeat
    seq0: Annotated[int, Field(ge=0)]
    ts: float | None = None
    #: heartbeat period in s
    hb_s: Annotated[float, Field(ge=1, le=3600)] | None = None


EVENT_KINDS = ("install", "commit", "rollback", "rejected", "error", "interaction")


class Event(_Model):
    """`bgk/v1/kiosk/{id}/events`, QoS 1 from the kiosk's disk outbox.

    (kiosk, outbox_id, seq) identifies an event: QoS 1 redeliveries are dropped.
    kinds (EVENT_KINDS; data always has `message`, in words): install {pack, version,
    bytes, blobs} (switched, waiting for its health check), commit {pack, version},
    rollback {pack, version, blacklisted}, rejected {code}, error {code},
    interaction {sessions, seconds, languages:{lang:n}, pages:{page:n}}.
    """

    outbox_id: TOKEN
    seq: Annotated[int, Field(ge=1)]
    ts: float
    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    data: dict[str, JsonValue] = Field(default_factory=dict)


Lang = Literal["vi", "en", "lo", "th", "zh"]


class CommandAck(_Model):
    """`bgk/v1/kiosk/{id}/cmd/ack`, QoS 1 from the outbox."""

    cmd_id: TOKEN
    state: Literal["accepted", "done", "failed"]
    reason: Annotated[str, Field(max_length=500)] | None = None
    ts: float | None = None
    #: a notice's done-ack: per language, how many characters no font of the kiosk
    #: could draw (0 = every character drawn); None when the UI did not say (a kiosk
    #: from before this field, or a UI that is not running). Optional both ways: an
    #: older server ignores it, an older kiosk leaves it out.
    missing_glyphs: dict[Lang, Annotated[int, Field(ge=0, le=10_000)]] | None = None


class ScreenshotHeader(_Model):
    """First line of a `bgk/v1/kiosk/{id}/screenshot` payload; JPEG bytes follow."""

    cmd_id: TOKEN
    ts: float
    width: Annotated[int, Field(ge=1, le=8192)]
    height: Annotated[int, Field(ge=1, le=8192)]
    #: what the UI showed when the picture was taken
    screen: Annotated[str, Field(max_length=80)] | None = None


# --- server -> kiosk ---------------------------------------------------------

Op = Literal["reboot", "resync", "screenshot", "notice"]


class Command(_Model):
    """`bgk/v1/kiosk/{id}/cmd`, QoS 1 with message expiry, signed by the server."""

    cmd_id: TOKEN
    op: Op
    args: dict[str, JsonValue] = Field(default_factory=dict)
    #: the kiosk this command is for (signed: no replay at another kiosk)
    kiosk: ID
    #: issued at / expires at, server clock (epoch s)
    iat: float
    exp: float
    #: Ed25519 signature, base64 (see command_signing_bytes)
    sig: Annotated[str, Field(max_length=200)] = ""


class NoticeArgs(_Model):
    """args of `notice`: text per language. Empty text withdraws the notice with
    this id (a newer notice stays), or with id "all" whatever notice is shown."""

    id: TOKEN
    text: dict[Lang, Annotated[str, Field(max_length=1000)]]
    #: epoch s when the notice disappears from the screen
    expires: float
    level: Literal["urgent", "info"] = "urgent"


class ScreenshotArgs(_Model):
    """args of `screenshot`: the size of the JPEG sent back."""

    max_width: Annotated[int, Field(ge=160, le=1920)] = 960
    quality: Annotated[int, Field(ge=30, le=95)] = 70


class Announce(_Model):
    """`bgk/v1/packs/announce`, retained: a hint to sync now (trust stays with TUF)."""

    timestamp_version: Annotated[int, Field(ge=0)]
    packs: dict[str, Annotated[int, Field(ge=0)]]
    #: the server's jitter window (s): kiosks sync after a uniform delay in [0, jitter_s]
    #: (kiosk.protocol.rollout); None/absent = the kiosk's own default. Additive:
    #: kiosks from before it ignore the field.
    jitter_s: Annotated[float, Field(ge=0, le=MAX_JITTER_S)] | None = None


class ServerStatus(_Model):
    """`bgk/v1/server/status`, retained; the server's LWT carries online=false."""

    online: bool
    ts: float


# --- parsing -----------------------------------------------------------------

M = TypeVar("M", bound=_Model)

_BY_KIND: dict[Kind, type[_Model]] = {
    Kind.STATUS: Status,
    Kind.HB: Heartbeat,
    Kind.EVENTS: Event,
    Kind.CMD: Command,
    Kind.ACK: CommandAck,
}


def _first_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


def parse_model(model: type[M], payload: bytes, limit: int) -> M:
    """Validate `payload` as `model`; PayloadTooLarge / PayloadError otherwise."""
    if len(payload) > limit:
        raise PayloadTooLarge(f"{model.__name__} payload of {len(payload)} bytes > {limit}")
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise PayloadError(f"invalid {model.__name__}: {_first_error(exc)}") from None


def parse_kiosk_payload(kind: Kind, payload: bytes) -> _Model:
    """The JSON payload of a kiosk topic (not the screenshot: see parse_screenshot)."""
    model = _BY_KIND.get(kind)
    if model is None:
        raise PayloadError(f"{kind.value} payloads are not JSON documents")
    return parse_model(model, payload, MAX_BYTES[kind])


def parse_announce(payload: bytes) -> Announce:
    return parse_model(Announce, payload, MAX_ANNOUNCE_BYTES)


def parse_server_status(payload: bytes) -> ServerStatus:
    return parse_model(ServerStatus, payload, MAX_SERVER_STATUS_BYTES)


def parse_command(payload: bytes) -> Command:
    return parse_model(Command, payload, MAX_BYTES[Kind.CMD])


def command_args(cmd: Command) -> NoticeArgs | ScreenshotArgs | None:
    """The typed args of `cmd` (None for ops without args); PayloadError if wrong."""
    model: type[NoticeArgs] | type[ScreenshotArgs]
    if cmd.op == "notice":
        model = NoticeArgs
    elif cmd.op == "screenshot":
        model = ScreenshotArgs
    else:
        if cmd.args:
            raise PayloadError(f"command {cmd.op} takes no args")
        return None
    try:
        return model.model_validate(cmd.args, strict=False)
    except ValidationError as exc:
        raise PayloadError(f"invalid args of {cmd.op}: {_first_error(exc)}") from None


def command_signing_bytes(cmd: Command) -> bytes:
    """The bytes the server signs and the kiosk verifies: everything but `sig`."""
    body: dict[str, Any] = cmd.model_dump(mode="json", exclude={"sig"})
    return COMMAND_SIG_DOMAIN + canonical_json(body)


def encode_screenshot(header: ScreenshotHeader, jpeg: bytes) -> bytes:
    return header.to_bytes() + b"\n" + jpeg


def parse_screenshot(payload: bytes) -> tuple[ScreenshotHeader, bytes]:
    """(header, JPEG bytes); PayloadError when it is not a header line + a JPEG."""
    limit = MAX_BYTES[Kind.SCREENSHOT]
    if len(payload) > limit:
        raise PayloadTooLarge(f"screenshot of {len(payload)} bytes > {limit}")
    head, sep, jpeg = payload[: MAX_SCREENSHOT_HEADER + 1 + 3].partition(b"\n")
    if not sep:
        raise PayloadError("screenshot: no header line")
    header = parse_model(ScreenshotHeader, head, MAX_SCREENSHOT_HEADER)
    jpeg = payload[len(head) + 1 :]
    if not jpeg.startswith(b"\xff\xd8\xff"):
        raise PayloadError("screenshot: the image is not a JPEG")
    return header, jpeg


def dumps(data: dict[str, Any]) -> bytes:
    """Compact JSON for payloads built from plain dicts."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
