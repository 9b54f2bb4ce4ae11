"""The kiosk side's only paho-mqtt module: one MQTT v5 link on its own thread.

    link = KioskLink(config.mqtt, kiosk_id, handler, rng=random.Random())
    link.start()            # connects, reconnects with backoff + jitter, forever
    link.call_soon(fn)      # run fn on the link thread (publishing is done there)
    link.stop()             # goodbye status, DISCONNECT

The handler (kiosk.agent.fleet.FleetLink) supplies the will before every
connection attempt, is told of connections (subscriptions are renewed right
there, in on_connect), receives messages and PUBACKs, and is ticked on the
link thread, where it publishes heartbeats and flushes the outbox.
A client certificate ([mqtt] cert/key) is used when the bundle has one.
"""

from __future__ import annotations

import logging
import queue
import random
import select
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.common.backoff import Backoff
from kiosk.config import MqttConfig
from kiosk.protocol.errors import UsageError

log = logging.getLogger("bgk.agent.mqtt")


def _props(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]


OK = paho.MQTT_ERR_SUCCESS
#: the broker keeps this kiosk's session (queued commands) this long while it is away
SESSION_EXPIRY_S = 86400
CONNACK_TIMEOUT_S = 10.0


class LinkHandler(Protocol):
    def will(self) -> tuple[str, bytes]: ...
    def goodbye(self) -> tuple[str, bytes]: ...
    def subscriptions(self) -> list[tuple[str, int]]: ...
    def on_connected(self) -> None: ...
    def on_disconnected(self) -> None: ...
    def on_message(self, topic: str, payload: bytes) -> None: ...
    def on_published(self, mid: int, reason: int) -> None: ...
    def tick(self, now: float) -> float: ...


class KioskLink:
    def __init__(
        self,
        cfg: MqttConfig,
        kiosk_id: str,
        handler: LinkHandler,
        *,
        rng: random.Random | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        parts = urlsplit(cfg.url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise UsageError(f"[mqtt] url {cfg.url!r} must look like mqtts://host:8883")
        self.host = parts.hostname
        self.tls = parts.scheme == "mqtts"
        self.port = parts.port or (8883 if self.tls else 1883)
        self.cfg, self.kiosk_id, self.handler = cfg, kiosk_id, handler
        self.backoff = backoff or Backoff(base=1.0, cap=60.0, rng=rng or random.Random())
        self.connected = False
        self.refused: str | None = None
        self._started = False
        self._stop = threading.Event()
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._misc_at = 0.0
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=kiosk_id, protocol=paho.MQTTv5)
        client.username_pw_set(cfg.username or kiosk_id, cfg.password)
        if self.tls:
            context = ssl.create_default_context(cafile=str(cfg.ca) if cfg.ca else None)
            if cfg.cert and cfg.key:
                context.load_cert_chain(str(cfg.cert), str(cfg.key))
            client.tls_set_context(context)
        client.max_inflight_messages_set(200)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        self.client = client

    # --- paho callbacks (link thread) ---------------------------------------------
    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self.refused = str(rc)
            log.error(
                "the broker refused kiosk %s: %s (check the bundle's [mqtt] credentials)",
                self.kiosk_id,
                rc,
            )
            return
        self.connected, self.refused = True, None
        subs = self.handler.subscriptions()
        if subs:
            client.subscribe(subs)
        self.handler.on_connected()

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if self.connected:
            log.warning("MQTT link lost: %s", rc)
            self.connected = False
            self.handler.on_disconnected()

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        self.handler.on_message(msg.topic, bytes(msg.payload))

    def _on_publish(self, _c: paho.Client, _u: Any, mid: int, rc: Any, _p: Any) -> None:
        self.handler.on_published(mid, int(rc.value))

    # --- publishing (link thread only) ----------------------------------------------
    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        *,
        retain: bool = False,
        expiry_s: int | None = None,
    ) -> int | None:
        """Hand a message to paho; None when not connected (the caller keeps it)."""
        if not self.connected:
            return None
        props = None
        if expiry_s:
            props = _props(PacketTypes.PUBLISH)
            props.MessageExpiryInterval = int(expiry_s)
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        return int(info.mid) if info.rc == OK or qos > 0 else None

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the link thread (from any thread)."""
        self._calls.put(fn)

    # --- the loop --------------------------------------------------------------------
    def _connect(self) -> bool:
        topic, payload = self.handler.will()
        props = _props(PacketTypes.WILLMESSAGE)
        if self.cfg.will_delay_s:
            props.WillDelayInterval = self.cfg.will_delay_s
        self.client.will_set(topic, payload, qos=1, retain=True, properties=props)
        connect_props = _props(PacketTypes.CONNECT)
        connect_props.SessionExpiryInterval = SESSION_EXPIRY_S
        try:
            if not self._started:
                self.client.connect(
                    self.host,
                    self.port,
                    keepalive=self.cfg.keepalive_s,
                    clean_start=False,
                    properties=connect_props,
                )
                self._started = True
            else:
                self.client.reconnect()
        except (OSError, ssl.SSLError) as exc:
            log.warning("cannot reach the MQTT broker %s:%d: %s", self.host, self.port, exc)
            return False
        deadline = time.monotonic() + CONNACK_TIMEOUT_S
        while not self.connected and self.refused is None and time.monotonic() < deadline:
            if not self._pump(0.1):
                return False
        return self.connected

    def _pump(self, timeout: float) -> bool:
        sock = self.client.socket()
        if sock is None:
            return False
        wants = [sock] if self.client.want_write() else []
        try:
            r, w, _ = select.select([sock], wants, [], max(0.0, timeout))
        except (OSError, ValueError):
            return False
        if r:
            for _ in range(100):
                if self.client.loop_read() != OK:
                    return False
                sock = self.client.socket()
                if sock is None:
                    return False
                pending = getattr(sock, "pending", None)
                more = pending is not None and pending() > 0
                if not more and not select.select([sock], [], [], 0)[0]:
                    break
        if (w or self.client.want_write()) and self.client.loop_write() != OK:
            return False
        now = time.monotonic()
        if now - self._misc_at >= 0.5:
            self._misc_at = now
            if self.client.loop_misc() != OK:
                return False
        return self.client.socket() is not None

    def _drop(self) -> None:
        """The link is down (paho closes the old socket on reconnect)."""
        was = self.connected
        self.connected = False
        if was:
            self.handler.on_disconnected()

    def run(self) -> None:
        while not self._stop.is_set():
            self._run_calls()
            if not self.connected:
                if not self._connect():
                    self._drop()
                    delay = self.backoff.next()
                    log.info("reconnecting in %.1f s", delay)
                    self._stop.wait(delay)
                    continue
                self.backoff.reset()
            wait = self.handler.tick(time.monotonic())
            self._run_calls()
            if not self._pump(min(max(0.0, wait), 0.5)):
                self._drop()

    def _run_calls(self) -> None:
        while True:
            try:
                fn = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception:
                log.exception("a call on the MQTT link thread failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="mqtt-link", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Say goodbye (retained offline status), disconnect, end the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.connected:
            topic, payload = self.handler.goodbye()
            info = self.client.publish(topic, payload, qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline and self._pump(0.05):
                pass
            self.client.disconnect()
            self._pump(0.05)
        self.connected = False


def try_login(cfg: MqttConfig, kiosk_id: str, timeout_s: float = 10.0) -> tuple[bool, str]:
    """One login with the kiosk's own credentials (`bgk kiosk doctor`): MQTT v5,
    resuming the kiosk's session with its own expiry and without a will, so the
    session (queued commands) stays as it was. A running agent's connection is
    taken over for a moment and comes back by itself. (accepted, what happened)."""
    parts = urlsplit(cfg.url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        return False, f"[mqtt] url {cfg.url!r} is not mqtt(s)://host:port"
    tls = parts.scheme == "mqtts"
    host, port = parts.hostname, parts.port or (8883 if tls else 1883)
    answer: list[str] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=kiosk_id, protocol=paho.MQTTv5)
    client.username_pw_set(cfg.username or kiosk_id, cfg.password)
    client.on_connect = lambda _c, _u, _f, rc, _p: answer.append(
        "" if not rc.is_failure else str(rc)
    )
    try:
        if tls:
            context = ssl.create_default_context(cafile=str(cfg.ca) if cfg.ca else None)
            if cfg.cert and cfg.key:
                context.load_cert_chain(str(cfg.cert), str(cfg.key))
            client.tls_set_context(context)
        props = _props(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        client.connect(host, port, keepalive=30, clean_start=False, properties=props)
        deadline = time.monotonic() + timeout_s
        while not answer and time.monotonic() < deadline and client.loop(0.1) == OK:
            pass
    except (OSError, ssl.SSLError) as exc:
        return False, f"cannot reach {host}:{port}: {exc}"
    finally:
        client.disconnect()
    if not answer:
        return False, f"{host}:{port} answered no login within {timeout_s:.0f} s"
    if answer[0]:
        return False, f"{host}:{port} refused the login: {answer[0]}"
    return True, f"{host}:{port} accepts {cfg.username or kiosk_id}"
