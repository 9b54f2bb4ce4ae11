"""MQTT v5 clients driven by our own loops.

    Link   one client (ingest, commands, announcements): manual acknowledgements
           (a QoS 1 message is acknowledged only after its batch is committed),
           a large Receive Maximum, subscriptions renewed in on_connect.
    Hub    many clients in one thread (the fleet simulator): server/sim/hub.py

Neither starts paho's own thread: callers pump them, so timing stays theirs.
This module and server/sim/hub.py are the server side's only paho-mqtt modules.
"""

from __future__ import annotations

import logging
import select
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.common.backoff import Backoff
from kiosk.protocol.errors import BgkError, UsageError
from server.broker.identity import Identity

log = logging.getLogger(__name__)


def packet_properties(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]


OK = paho.MQTT_ERR_SUCCESS
#: reason codes >= 0x80 are failures; 135 = not authorized (a refused publish)
NOT_AUTHORIZED = 135


class LinkError(BgkError):
    """The broker could not be reached or refused us (the message says which)."""


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise UsageError(
                f"MQTT URL {url!r} must look like mqtt://host:port or mqtts://host:port"
            )
        tls = parts.scheme == "mqtts"
        return cls(parts.hostname, parts.port or (8883 if tls else 1883), tls)


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True
    delay_s: int = 0


def expiry_properties(seconds: int) -> Properties:
    props = packet_properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = max(1, int(seconds))
    return props


def connect_properties(session_expiry: int, receive_maximum: int | None) -> Properties:
    props = packet_properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    return props


def new_client(
    identity: Identity,
    broker: BrokerUrl,
    *,
    ca: Path | None = None,
    will: Will | None = None,
    v5: bool = True,
) -> paho.Client:
    """A paho client (MQTT v5, or 3.1.1 with a persistent session) with VERSION2
    callbacks; no thread started."""
    if v5:
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=identity.username, protocol=paho.MQTTv5
        )
    else:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=identity.username,
            protocol=paho.MQTTv311,
            clean_session=False,
        )
    client.username_pw_set(identity.username, identity.password)
    if broker.tls:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        client.tls_set_context(context)
    if will is not None:
        props = packet_properties(PacketTypes.WILLMESSAGE) if v5 else None
        if props is not None and will.delay_s:
            props.WillDelayInterval = will.delay_s
        client.will_set(will.topic, will.payload, will.qos, will.retain, props)
    return client


def login_accepted(url: str, ca: Path | None, identity: Identity, within_s: float) -> bool | None:
    """Whether the broker at `url` accepts `identity`, trying until `within_s` has
    passed (a reload takes a moment). None: the broker cannot be reached.

    MQTT 3.1.1 with a persistent session and no subscription: a kiosk's own
    session (queued commands) is resumed and left as it was."""
    broker = BrokerUrl.parse(url)
    deadline = time.monotonic() + within_s
    answer: bool | None = None
    while True:
        codes: list[int] = []
        client = new_client(identity, broker, ca=ca, v5=False)
        client.on_connect = partial(_record_connack, codes)
        try:
            client.connect(broker.host, broker.port, keepalive=10)
            until = min(deadline, time.monotonic() + 2.0)
            while not codes and time.monotonic() < until and client.loop(0.05) == OK:
                pass
        except (OSError, ssl.SSLError):
            return answer
        finally:
            client.disconnect()
        if codes and codes[0] == 0:
            return True
        answer = False if codes else answer
        if time.monotonic() >= deadline:
            return answer
        time.sleep(0.2)


def _record_connack(codes: list[int], _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
    codes.append(int(rc.value))


def _readable_now(sock: Any) -> bool:
    pending = getattr(sock, "pending", None)
    if pending is not None and pending() > 0:
        return True
    r, _, _ = select.select([sock], [], [], 0)
    return bool(r)


MessageHandler = Callable[[str, bytes, int, int, Any], None]


class Link:
    """One client pumped by its owner: `maintain()` and `pump()` in a loop.

    v5=False gives an MQTT 3.1.1 client with a persistent session, for a pure
    consumer: paho builds a Properties object for every MQTT v5 PUBLISH it
    reads, which measured 35 µs per message against 20 µs with 3.1.1
    (Mosquitto serves $share subscriptions to 3.1.1 clients too; their
    in-flight window is the broker's max_inflight_messages)."""

    def __init__(
        self,
        url: str,
        identity: Identity,
        *,
        ca: Path | None = None,
        subscriptions: list[tuple[str, int]],
        on_message: MessageHandler,
        on_connected: Callable[[bool], None] | None = None,
        on_published: Callable[[int, int], None] | None = None,
        will: Will | None = None,
        manual_ack: bool = True,
        v5: bool = True,
        session_expiry: int = 3600,
        receive_maximum: int = 20000,
        keepalive: int = 30,
        max_packets_per_pump: int = 2000,
        backoff: Backoff | None = None,
    ) -> None:
        self.broker = BrokerUrl.parse(url)
        self.identity = identity
        self.subscriptions = subscriptions
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_published = on_published
        self.v5 = v5
        self.session_expiry = session_expiry
        self.receive_maximum = receive_maximum
        self.keepalive = keepalive
        self.max_packets = max_packets_per_pump
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self.connected = False
        self.refused: str | None = None
        #: monotonic deadline of a CONNECT in progress, or of the next attempt
        self._connecting_until: float | None = None
        self._retry_at = 0.0
        self._misc_at = 0.0
        client = new_client(identity, self.broker, ca=ca, will=will, v5=v5)
        client.manual_ack_set(manual_ack)
        client.max_inflight_messages_set(1000)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_publish = self._handle_publish
        self.client = client
        self._started = False

    # --- paho callbacks ---------------------------------------------------------
    def _handle_connect(self, client: paho.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        self._connecting_until = None
        if rc.is_failure:
            self.refused = str(rc)
            log.error("broker refused %s: %s", self.identity.username, rc)
            return
        self.connected = True
        self.refused = None
        self.backoff.reset()
        if self.subscriptions:
            client.subscribe(self.subscriptions)
        if self._on_connected is not None:
            self._on_connected(bool(flags.session_present))

    def _handle_disconnect(self, _c: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if self.connected:
            log.warning("MQTT link of %s lost: %s", self.identity.username, rc)
        self.connected = False

    def _handle_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        self._on_message(msg.topic, bytes(msg.payload), msg.qos, msg.mid, msg.properties)

    def _handle_publish(self, _c: paho.Client, _u: Any, mid: int, rc: Any, _p: Any) -> None:
        if self._on_published is not None:
            self._on_published(mid, int(rc.value) if hasattr(rc, "value") else 0)

    # --- owner's API ------------------------------------------------------------
    def connect(self, clean_start: bool = False) -> None:
        """Open the TCP/TLS connection and send CONNECT (CONNACK arrives in pump)."""
        try:
            if not self._started:
                if self.v5:
                    props = connect_properties(self.session_expiry, self.receive_maximum)
                    self.client.connect(
                        self.broker.host, self.broker.port, keepalive=self.keepalive,
                        clean_start=clean_start, properties=props,
                    )  # fmt: skip
                else:
                    self.client.connect(
                        self.broker.host, self.broker.port, keepalive=self.keepalive
                    )
                self._started = True
            else:
                self.client.reconnect()
        except (OSError, ssl.SSLError) as exc:
            raise LinkError(
                f"cannot reach the MQTT broker at {self.broker.host}:{self.broker.port}: {exc}"
            ) from None

    def maintain(self, now: float) -> None:
        """Connect when down (after the backoff), give up on a CONNACK that never comes."""
        if self.connected:
            return
        if self._connecting_until is not None:
            if (
                now < self._connecting_until
                and self.client.socket() is not None
                and not self.refused
            ):
                return
            self._connecting_until = None
            self._retry_at = now + self.backoff.next()
            return
        if now < self._retry_at:
            return
        try:
            self.refused = None
            self.connect()
            self._connecting_until = now + 10.0
        except LinkError as exc:
            log.warning("%s", exc)
            self._retry_at = now + self.backoff.next()

    def has_socket(self) -> bool:
        return self.client.socket() is not None

    def pump(self, timeout: float, until: float | None = None) -> bool:
        """Wait up to `timeout` for traffic, handle it (reading no later than the
        monotonic `until`, when given); False when the link is down."""
        sock = self.client.socket()
        if sock is None:
            self.connected = False
            return False
        wants = [sock] if self.client.want_write() else []
        try:
            r, w, _ = select.select([sock], wants, [], max(0.0, timeout))
        except (OSError, ValueError):
            return False
        if r:
            for n in range(self.max_packets):
                if self.client.loop_read() != OK:
                    self.connected = False
                    return False
                if n % 16 != 15:
                    continue  # a read with nothing there costs less than asking each time
                sock = self.client.socket()
                if sock is None or not _readable_now(sock):
                    break
                if until is not None and time.monotonic() >= until:
                    break
        if (w or self.client.want_write()) and self.client.loop_write() != OK:
            self.connected = False
            return False
        now = time.monotonic()
        if now - self._misc_at >= 0.5:
            self._misc_at = now
            if self.client.loop_misc() != OK:
                self.connected = False
                return False
        alive = self.client.socket() is not None
        if not alive:
            self.connected = False
        return alive

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 1,
        *,
        retain: bool = False,
        expiry_s: int | None = None,
    ) -> int:
        props = expiry_properties(expiry_s) if expiry_s else None
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        return int(info.mid)

    def ack(self, mids: list[int]) -> None:
        for mid in mids:
            self.client.ack(mid, 1)

    def flush(self) -> None:
        if self.client.socket() is not None and self.client.want_write():
            self.client.loop_write()

    def close(self) -> None:
        try:
            if self.client.socket() is not None:
                self.client.disconnect()
                self.client.loop_write()
        finally:
            self.connected = False
