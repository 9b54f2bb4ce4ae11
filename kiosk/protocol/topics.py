"""MQTT v5 topics of the fleet link (ARCHITECTURE.md, data flow 5–6): builders and a fast parser.

    bgk/v1/packs/announce              server -> all   QoS 1, retained   Announce
    bgk/v1/server/status               server          QoS 1, retained, LWT  ServerStatus
    bgk/v1/kiosk/{id}/status           kiosk           QoS 1, retained, LWT (will delay)  Status
    bgk/v1/kiosk/{id}/hb               kiosk           QoS 0, expiry 2x period  Heartbeat
    bgk/v1/kiosk/{id}/events           kiosk           QoS 1 (disk outbox)  Event
    bgk/v1/kiosk/{id}/cmd              server -> kiosk QoS 1, expiry  Command
    bgk/v1/kiosk/{id}/cmd/ack          kiosk -> server QoS 1 (disk outbox)  CommandAck
    bgk/v1/kiosk/{id}/screenshot       kiosk -> server QoS 1  Screenshot (JSON header + JPEG)

The screenshot topic is an addition to the original topic list; it stays inside the
kiosk's ACL (`bgk/v1/kiosk/%u/#`), so no extra broker rule is needed.

A kiosk's broker identity (MQTT username, client id, certificate CN) is its
kiosk id. Server identities start with "_" so they can never be a kiosk id.
"""

from __future__ import annotations

import re
from enum import StrEnum

from kiosk.protocol.errors import ProtocolError

ROOT = "bgk/v1"
ANNOUNCE = f"{ROOT}/packs/announce"
#: what a kiosk may read besides its own subtree
PACKS_FILTER = f"{ROOT}/packs/#"
SERVER_STATUS = f"{ROOT}/server/status"
KIOSK_PREFIX = f"{ROOT}/kiosk/"
#: group name of the server's shared subscriptions ($share/ingest/...)
SHARE_GROUP = "ingest"

#: kiosk ids: also MQTT usernames and client ids (no "/", "+", "#", ":" possible)
KIOSK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class TopicError(ProtocolError):
    """A topic outside the contract (wrong prefix, bad kiosk id, unknown kind)."""


class Kind(StrEnum):
    """The last part(s) of a kiosk topic."""

    STATUS = "status"
    HB = "hb"
    EVENTS = "events"
    CMD = "cmd"
    ACK = "cmd/ack"
    SCREENSHOT = "screenshot"


#: what kiosks publish and the server ingests
KIOSK_TO_SERVER: tuple[Kind, ...] = (Kind.STATUS, Kind.HB, Kind.EVENTS, Kind.ACK, Kind.SCREENSHOT)
_KINDS = {k.value: k for k in Kind}


def kiosk_topic(kiosk_id: str, kind: Kind) -> str:
    """`bgk/v1/kiosk/{id}/{kind}`; refuses an id that could escape its subtree."""
    if not KIOSK_ID.match(kiosk_id):
        raise TopicError(f"kiosk id {kiosk_id!r}: use lowercase letters, digits and dashes")
    return f"{KIOSK_PREFIX}{kiosk_id}/{kind.value}"


def kiosk_filter(kind: Kind, share_group: str | None = None) -> str:
    """Subscription filter for one kind from every kiosk, optionally shared."""
    topic = f"{KIOSK_PREFIX}+/{kind.value}"
    return f"$share/{share_group}/{topic}" if share_group else topic


def parse_kiosk_topic(topic: str) -> tuple[str, Kind]:
    """(kiosk id, kind) of a kiosk topic; TopicError for anything else."""
    if not topic.startswith(KIOSK_PREFIX):
        raise TopicError(f"not a kiosk topic: {topic[:120]!r}")
    rest = topic[len(KIOSK_PREFIX) :]
    kiosk_id, sep, tail = rest.partition("/")
    kind = _KINDS.get(tail)
    if not sep or kind is None or not KIOSK_ID.match(kiosk_id):
        raise TopicError(f"not a kiosk topic: {topic[:120]!r}")
    return kiosk_id, kind
