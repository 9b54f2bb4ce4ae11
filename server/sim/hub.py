"""Many MQTT clients in one thread (the fleet simulator, `bgk sim`): epoll over
their sockets with paho's loop_read / loop_write / loop_misc. A thread per
client (loop_start) stops at ~340 connections because paho uses select().

The single-client Link, the broker URL, wills and properties are in mqtt.py.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from server.broker.identity import Identity
from server.fleet.mqtt import BrokerUrl, Will, connect_properties, packet_properties

log = logging.getLogger(__name__)


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
            props = packet_properties(PacketTypes.WILLMESSAGE)
            if delay_s:
                props.WillDelayInterval = delay_s
            self._wills[delay_s] = props
        return props

    def _connect_props(self, session_expiry: int) -> Properties:
        props = self._connects.get(session_expiry)
        if props is None:
            props = self._connects[session_expiry] = connect_properties(session_expiry, None)
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
