"""The kiosk's fleet link: presence, heartbeats, events, commands, announcements.

    fleet = FleetLink(config, facts=..., trigger_sync=service.trigger_sync)
    syncer events -> fleet.emit(event)     (it is an EventSink: the disk outbox)
    fleet.start() ... fleet.stop()

On every connection: subscriptions (own commands, pack announcements), a
retained birth status {online, boot_id, seq0}, an immediate heartbeat; the
broker holds a retained "offline" will, published ~will_delay_s after the
link is lost. Heartbeats go every [mqtt] heartbeat_s (QoS 0, message expiry
2 periods) and only while connected. Events and command acks go through
the outbox (kiosk.agent.outbox), in order, at most MAX_IN_FLIGHT unacked.
An announcement only triggers a sync cycle, after a uniform delay in the
window the announcement carries (kiosk.protocol.rollout; ANNOUNCE_JITTER_S
when it carries none), so a fleet does not hit the server at once; a kiosk
that comes back to a retained announcement of a version it has not seen
waits the same way. Trust stays with TUF. A sync asked for by hand (`bgk
kiosk sync`, the signed `resync` command) calls trigger_sync at once.

Errors of this area (all BgkError):
    CommandRefused     a command that must not run (kiosk.agent.remote)
    UsageError         a bundle without a usable [mqtt] section or command key
"""

from __future__ import annotations

import json
import logging
import queue
import random
import secrets
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from kiosk.agent.events import AgentEvent, EventSink
from kiosk.agent.heartbeat import (
    AgentFacts,
    build_heartbeat,
    read_cpu_temp,
    read_disk_free,
    read_uptime,
)
from kiosk.agent.mqtt_link import KioskLink
from kiosk.agent.outbox import MAX_IN_FLIGHT, Outbox, Row
from kiosk.agent.remote import Actions, CommandRefused, CommandRunner, load_command_key
from kiosk.config import KioskConfig
from kiosk.local import Channel
from kiosk.protocol.errors import BgkError, ProtocolError, UsageError
from kiosk.protocol.payloads import MAX_BYTES, Event, Status, parse_announce
from kiosk.protocol.rollout import DEFAULT_JITTER_S, announce_delay
from kiosk.protocol.topics import ANNOUNCE, Kind, kiosk_topic

log = logging.getLogger("bgk.agent.fleet")
#: traveller sessions are summed into one "interaction" event this often
INTERACTION_PERIOD_S = 600.0
#: an announcement without a window triggers a sync after a random delay up to this
ANNOUNCE_JITTER_S = DEFAULT_JITTER_S
#: MQTT v5 PUBACK reason "no matching subscribers": the broker delivered it nowhere
NO_MATCHING_SUBSCRIBERS = 16
#: such a message is sent again after this long
RESEND_S = 5.0


def systemctl_reboot() -> None:
    subprocess.run(["systemctl", "reboot"], check=False)


class FleetLink:
    def __init__(
        self,
        config: KioskConfig,
        *,
        facts: Callable[[float], AgentFacts],
        trigger_sync: Callable[[], None],
        reboot: Callable[[], None] = systemctl_reboot,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        agent_version: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not config.mqtt.url:
            raise UsageError(
                "the kiosk config has no [mqtt] url: copy a bundle made by `bgk kiosk enroll`"
            )
        self.config = config
        self.kiosk_id = config.kiosk.id
        self.period = config.mqtt.heartbeat_s
        self.facts, self.trigger_sync, self.clock = facts, trigger_sync, clock
        #: the clock of the announcement's delay (tick's `now` is of the same clock)
        self.monotonic = monotonic
        self.rng = rng or random.Random()
        self.agent_version = agent_version
        state = config.kiosk.state_dir
        self.channel = Channel(state)
        self.outbox = Outbox(state / "agent" / "outbox.db")
        self.boot_id = secrets.token_hex(8)
        self.seq = 0
        self._floor = 0.0
        self.topics = {kind: kiosk_topic(self.kiosk_id, kind) for kind in Kind}
        self.runner = CommandRunner(
            self.kiosk_id,
            load_command_key(config.mqtt.command_key),
            self.outbox,
            self.channel,
            Actions(
                trigger_sync=trigger_sync,
                reboot=reboot,
                publish_screenshot=self._send_screenshot,
                drain=self.drain,
            ),
            clock=clock,
            time_floor=lambda: self._floor,
        )
        self.link = KioskLink(config.mqtt, self.kiosk_id, self, rng=self.rng)
        self._inflight: dict[int, int] = {}
        self._cursor = 0
        #: monotonic time before which the outbox is not sent (after NO_MATCHING_SUBSCRIBERS)
        self._hold_until = 0.0
        self._next_hb = 0.0
        self._next_sessions = time.monotonic() + INTERACTION_PERIOD_S
        self._sync_at: float | None = None
        self._announced: int | None = None
        #: the window when an announcement carries none
        self.announce_jitter_s = ANNOUNCE_JITTER_S
        #: the delay drawn for the last announcement (s), for the log and tests
        self.announce_delay_s: float | None = None
        self._shots: dict[int, threading.Event] = {}
        self._commands: queue.Queue[bytes | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    @property
    def announced(self) -> int | None:
        """timestamp_version of the last pack announcement received (None: none yet)."""
        return self._announced

    # --- LinkHandler (link thread) ------------------------------------------------------
    def _status(self, online: bool) -> bytes:
        return Status(
            online=online,
            boot_id=self.boot_id,
            seq0=self.seq + 1,
            ts=self.clock(),
            hb_s=self.period,
        ).to_bytes()

    def will(self) -> tuple[str, bytes]:
        return self.topics[Kind.STATUS], self._status(False)

    def goodbye(self) -> tuple[str, bytes]:
        return self.topics[Kind.STATUS], self._status(False)

    def subscriptions(self) -> list[tuple[str, int]]:
        return [(self.topics[Kind.CMD], 1), (ANNOUNCE, 1)]

    def on_connected(self) -> None:
        log.info("connected to the fleet broker as %s", self.kiosk_id)
        self.link.publish(self.topics[Kind.STATUS], self._status(True), 1, retain=True)
        self._next_hb = 0.0  # a heartbeat right away

    def on_disconnected(self) -> None:
        log.info("fleet link down; %d events wait in the outbox", self.outbox.count())

    def on_message(self, topic: str, payload: bytes) -> None:
        if topic == self.topics[Kind.CMD]:
            self._commands.put(payload)
        elif topic == ANNOUNCE:
            try:
                announce = parse_announce(payload)
            except ProtocolError as exc:
                log.warning("ignored a malformed announcement: %s", exc)
                return
            if announce.timestamp_version != self._announced:
                self._announced = announce.timestamp_version
                delay = announce_delay(self.rng, announce.jitter_s, self.announce_jitter_s)
                self.announce_delay_s = delay
                self._sync_at = self.monotonic() + delay
                log.info(
                    "pack announcement %d: syncing in %.1f s", announce.timestamp_version, delay
                )

    def on_published(self, mid: int, reason: int) -> None:
        shot = self._shots.pop(mid, None)
        if shot is not None:
            shot.set()
            return
        seq = self._inflight.pop(mid, None)
        if seq is None:
            return
        if reason == NO_MATCHING_SUBSCRIBERS:
            # the broker took it but nobody (the server's ingest) was subscribed: a
            # broker restarted without its sessions, say. Not delivered: keep it and
            # send it again a little later (found by bench/soak.py).
            log.warning("outbox message %d reached no subscriber; sending it again", seq)
            self._cursor = min(self._cursor, seq - 1)
            self._hold_until = time.monotonic() + RESEND_S
            return
        if reason >= 128:
            log.error("the broker refused outbox message %d (reason code %d): dropped", seq, reason)
        self.outbox.done(seq)

    def tick(self, now: float) -> float:
        if now >= self._next_hb:
            self._next_hb = now + self.period
            self._heartbeat()
        if self._sync_at is not None and self.monotonic() >= self._sync_at:
            self._sync_at = None
            self.trigger_sync()
        if now >= self._next_sessions:
            self._next_sessions = now + INTERACTION_PERIOD_S
            self.report_sessions()
        self._flush()
        held = time.monotonic() < self._hold_until
        waits = [
            self._next_hb - now,
            0.5 if self._inflight or self._sync_at or held else self.period,
        ]
        return max(0.0, min(waits))

    # --- what the link thread publishes ----------------------------------------------------
    def _heartbeat(self) -> None:
        if not self.link.connected:
            return
        now = self.clock()
        try:
            facts = self.facts(now)
        except Exception:
            log.exception("cannot read the agent's status for the heartbeat")
            facts = AgentFacts(pack=None, stale=True, time_floor=self._floor)
        self._floor = max(self._floor, facts.time_floor)
        self.seq += 1
        hb = build_heartbeat(
            boot_id=self.boot_id,
            seq=self.seq,
            now=max(now, self._floor),
            period=self.period,
            uptime=read_uptime(),
            facts=facts,
            health=self.channel.read_health(),
            temp=read_cpu_temp(),
            disk_free=read_disk_free(self.config.kiosk.state_dir),
            agent=self.agent_version,
        )
        self.link.publish(self.topics[Kind.HB], hb.to_bytes(), 0, expiry_s=int(2 * self.period))

    def _payload(self, row: Row) -> bytes:
        if row.kind != Kind.EVENTS.value:
            return row.body
        body = json.loads(row.body)
        return Event(
            outbox_id=self.outbox.outbox_id,
            seq=row.seq,
            ts=row.created,
            kind=body["kind"],
            data=body["data"],
        ).to_bytes()

    def _flush(self) -> None:
        if not self.link.connected or len(self._inflight) >= MAX_IN_FLIGHT:
            return
        if time.monotonic() < self._hold_until:
            return
        for row in self.outbox.pending(self._cursor, MAX_IN_FLIGHT - len(self._inflight)):
            mid = self.link.publish(self.topics[Kind(row.kind)], self._payload(row), 1)
            if mid is None:
                return
            self._inflight[mid] = row.seq
            self._cursor = row.seq

    # --- EventSink (any thread) ------------------------------------------------------------
    def emit(self, event: AgentEvent) -> None:
        data: dict[str, Any] = {**event.data, "message": event.message[:1000]}
        body = json.dumps(
            {"kind": event.kind, "data": data}, ensure_ascii=False, default=str
        ).encode()
        if len(body) > MAX_BYTES[Kind.EVENTS] - 512:
            body = json.dumps(
                {"kind": event.kind, "data": {"message": event.message[:1000], "truncated": True}}
            ).encode()
        self.outbox.add(Kind.EVENTS.value, body, max(event.at, self._floor))
        if event.kind in ("install", "commit", "rollback"):
            self.link.call_soon(self.heartbeat_now)

    def heartbeat_now(self) -> None:
        """Send the next heartbeat at once (link thread): the server sees a new pack
        as soon as it is installed, not a period later."""
        self._next_hb = 0.0

    def report_sessions(self) -> None:
        """Sum the UI's finished traveller sessions into one anonymous event."""
        taken = self.channel.take_sessions()
        if not taken:
            return
        languages: Counter[str] = Counter()
        pages: Counter[str] = Counter()
        for _path, session in taken:
            languages.update(session.languages)
            pages.update(session.pages)
        data = {
            "sessions": len(taken),
            "seconds": round(sum(s.seconds for _p, s in taken), 1),
            "languages": dict(languages),
            "pages": dict(pages.most_common(200)),
        }
        self.emit(AgentEvent("interaction", self.clock(), f"{len(taken)} traveller sessions", data))
        for path, _session in taken:
            path.unlink(missing_ok=True)

    # --- commands (worker thread) -----------------------------------------------------------
    def _work(self) -> None:
        while True:
            payload = self._commands.get()
            if payload is None:
                return
            try:
                self.runner.handle(payload)
            except Exception:
                log.exception("command handling failed")

    def _send_screenshot(self, payload: bytes) -> None:
        done = threading.Event()

        def publish() -> None:
            mid = self.link.publish(self.topics[Kind.SCREENSHOT], payload, 1)
            if mid is not None:
                self._shots[mid] = done

        self.link.call_soon(publish)
        if not done.wait(30.0):
            raise CommandRefused("the screenshot could not be sent: the link to the server is down")

    def drain(self, timeout: float) -> None:
        """Wait until every outbox message is acknowledged, at most `timeout` s."""
        deadline = time.monotonic() + timeout
        while self.outbox.count() and time.monotonic() < deadline:
            time.sleep(0.1)

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        try:  # the time floor guards command expiry from the first message on
            self._floor = self.facts(self.clock()).time_floor
        except Exception:
            log.exception("cannot read the agent's status")
        self._worker = threading.Thread(target=self._work, name="fleet-commands", daemon=True)
        self._worker.start()
        self.link.start()

    def stop(self) -> None:
        self._commands.put(None)
        if self._worker is not None:
            self._worker.join(20.0)
        self.link.stop()
        self.outbox.close()


class Tee:
    """Hands every agent event to several sinks (the log, the fleet link)."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = sinks

    def emit(self, event: AgentEvent) -> None:
        for sink in self.sinks:
            sink.emit(event)


def agent_fleet_link(config: KioskConfig, trigger_sync: Callable[[], None]) -> FleetLink | None:
    """The fleet link of `bgk kiosk agent` (None when the config has no [mqtt] url):
    heartbeats report what kiosk.agent.status reports."""
    if not config.mqtt.url:
        log.warning("no [mqtt] url in the config: running without the fleet link")
        return None
    from kiosk.agent.heartbeat import facts_from_status
    from kiosk.agent.status import kiosk_status

    try:
        return FleetLink(
            config,
            facts=lambda now: facts_from_status(kiosk_status(config, now)),
            trigger_sync=trigger_sync,
        )
    except BgkError as exc:  # the kiosk keeps syncing and playing without its fleet link
        log.error("fleet link disabled: %s", exc)
        return None
