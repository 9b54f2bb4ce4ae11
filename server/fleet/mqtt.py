"""The server side's only paho-mqtt module: MQTT v5 clients driven by our own loops.

    Link   one client (ingest, commands, announcements): manual acknowledgements
           (a QoS 1 message is acknowledged only after its batch is committed),
           a large Receive Maximum, subscriptions renewed in on_connect.
    Hub    many clients in one thread (the fleet simulator): epoll over their
           sockets with loop_read / loop_write / loop_misc; a thread per client
           (loop_start) stops at ~340 connections because paho uses select().

Neither starts paho's own thread: callers pump them, so timing stays theirs.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.protocol.backoff import Backoff
from kiosk.protocol.errors import BgkError, UsageError
from server.fleet.identity import Identity

log = logging.getLogger(__name__)


def _props(packet_type: int) -> Properties:
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
    props = _props(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = max(1, int(seconds))
    return props


def _connect_properties(session_expiry: int, receive_maximum: int | None) -> Properties:
    props = _props(PacketTypes.CONNECT)
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
        props = _props(PacketTypes.WILLMESSAGE) if v5 else None
        if props is not None and will.delay_s:
            props.WillDelayInterval = will.delay_s
        client.will_set(will.topic, will.payload, will.qos, will.retain, props)
    return client


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
                    props = _connect_properties(self.session_expiry, self.receive_maximum)
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


class Hub:
    """Many paho clients in one thread: epoll over their sockets.

    Callbacks are shared by every client and receive the client's userdata,
    so ten thousand clients do not carry ten thousand closures."""

    def __init__(
        self,
        broker: BrokerUrl,
        *,
        ca: Path | None,
        on_connect: Callable[[Any, bool], None],
        on_message: Callable[[Any, str, bytes], None],
        on_disconnect: Callable[[Any], None],
    ) -> None:
        self.broker = broker
        self.ca = ca
        self.epoll = select.epoll()
        self.clients: dict[int, paho.Client] = {}
        self._writing: set[int] = set()
        self._on_connect = on_connect
        self._on_message = on_message
        self._on_disconnect = on_disconnect
        self._wills: dict[int, Properties] = {}
        self._misc_turn: list[paho.Client] = []
        self._connects: dict[int, Properties] = {}
        self._tls_context = (
            ssl.create_default_context(cafile=str(ca) if ca else None) if broker.tls else None
        )

    # --- paho callbacks (shared) ----------------------------------------------------
    def _opened(self, client: paho.Client, _u: Any, sock: Any) -> None:
        fd = sock.fileno()
        self.clients[fd] = client
        self.epoll.register(fd, select.EPOLLIN)

    def _closed(self, _client: paho.Client, _u: Any, sock: Any) -> None:
        fd = sock.fileno()
        if self.clients.pop(fd, None) is not None:
            self._writing.discard(fd)
            with contextlib.suppress(OSError, ValueError):
                self.epoll.unregister(fd)

    def _connected(self, _c: paho.Client, userdata: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("broker refused a simulated kiosk: %s", rc)
        self._on_connect(userdata, not rc.is_failure)

    def _message(self, _c: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        self._on_message(userdata, msg.topic, bytes(msg.payload))

    def _lost(self, _c: paho.Client, userdata: Any, _f: Any, _rc: Any, _p: Any) -> None:
        self._on_disconnect(userdata)

    def _will_props(self, delay_s: int) -> Properties:
        """One shared (read-only) Properties per will delay: paho's Properties object
        costs ~6 KB, ten thousand of them 60 MB."""
        props = self._wills.get(delay_s)
        if props is None:
            props = _props(PacketTypes.WILLMESSAGE)
            if delay_s:
                props.WillDelayInterval = delay_s
            self._wills[delay_s] = props
        return props

    def _connect_props(self, session_expiry: int) -> Properties:
        props = self._connects.get(session_expiry)
        if props is None:
            props = self._connects[session_expiry] = _connect_properties(session_expiry, None)
        return props

    # --- owner's API ------------------------------------------------------------------
    def open(
        self,
        identity: Identity,
        userdata: Any,
        *,
        will: Will | None,
        keepalive: int,
        session_expiry: int,
    ) -> paho.Client:
        """Create a client and connect it (TCP connect blocks; CONNACK comes in poll)."""
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=identity.username,
            protocol=paho.MQTTv5,
            userdata=userdata,
        )
        client.username_pw_set(identity.username, identity.password)
        if self._tls_context is not None:
            client.tls_set_context(self._tls_context)
        if will is not None:
            client.will_set(
                will.topic, will.payload, will.qos, will.retain, self._will_props(will.delay_s)
            )
        client.on_socket_open = self._opened
        client.on_socket_close = self._closed
        client.on_connect = self._connected
        client.on_message = self._message
        client.on_disconnect = self._lost
        client.connect(
            self.broker.host,
            self.broker.port,
            keepalive=keepalive,
            clean_start=False,
            properties=self._connect_props(session_expiry),
        )
        self.want_write(client)
        return client

    def reconnect(self, client: paho.Client) -> bool:
        try:
            client.reconnect()
        except (OSError, ssl.SSLError):
            return False
        self.want_write(client)
        return True

    def publish(
        self,
        client: paho.Client,
        topic: str,
        payload: bytes,
        qos: int = 0,
        *,
        retain: bool = False,
        props: Properties | None = None,
    ) -> None:
        client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if client.want_write():
            self.want_write(client)

    def subscribe(self, client: paho.Client, topic: str, qos: int = 1) -> None:
        client.subscribe(topic, qos)

    def want_write(self, client: paho.Client) -> None:
        """Ask epoll for writability while paho holds unsent bytes."""
        sock = client.socket()
        if sock is None or not client.want_write():
            return
        fd = sock.fileno()
        if fd not in self._writing and fd in self.clients:
            self._writing.add(fd)
            self.epoll.modify(fd, select.EPOLLIN | select.EPOLLOUT)

    def poll(self, timeout: float) -> int:
        """Handle ready sockets; returns how many had events."""
        events = self.epoll.poll(max(0.0, timeout), 4096)
        for fd, mask in events:
            client = self.clients.get(fd)
            if client is None:
                continue
            if mask & (select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP):
                client.loop_read()
                sock = client.socket()
                while sock is not None and getattr(sock, "pending", lambda: 0)() > 0:
                    client.loop_read()
                    sock = client.socket()
            if client.socket() is None:
                continue
            if client.want_write():
                client.loop_write()
            if client.want_write():
                self.want_write(client)
            elif fd in self._writing:
                self._writing.discard(fd)
                self.epoll.modify(fd, select.EPOLLIN)
        return len(events)

    def misc(self, count: int | None = None) -> None:
        """Keepalive pings and timeouts: of `count` clients in turn (all when None).
        Going through ten thousand clients at once takes ~30 ms, which would show
        as heartbeat lateness; a few at a time it does not."""
        if count is None:
            for client in list(self.clients.values()):
                client.loop_misc()
            return
        for _ in range(count):
            if not self._misc_turn:
                self._misc_turn = list(self.clients.values())
                if not self._misc_turn:
                    return
            client = self._misc_turn.pop()
            if client.socket() is not None:
                client.loop_misc()

    def close(self) -> None:
        for client in list(self.clients.values()):
            with contextlib.suppress(Exception):
                client.disconnect()
                client.loop_write()
        self.epoll.close()


def drop_connection(client: paho.Client) -> None:
    """Tear the TCP connection down without DISCONNECT, like a kiosk losing power:
    the broker publishes its will; paho sees the end on its next read."""
    sock = client.socket()
    if isinstance(sock, socket.socket):  # also ssl.SSLSocket
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
