"""A fleet of simulated kiosks with real MQTT connections, from one process.

One thread drives every connection through epoll (server.sim.hub.Hub).
Each simulated kiosk logs in with its own credentials, publishes a retained
birth status with a delayed LWT, subscribes to its command topic, and sends
heartbeats of the real schema on its own schedule. Some kiosks lose power
for a while (the broker publishes their LWT; they come back with a new boot
id), some play a stale pack, some have a dead UI. Commands are acknowledged
(accepted, then done; a screenshot request gets a small JPEG) without
checking signatures: this is a load and demo tool, not a kiosk.

Heartbeat lateness (send time minus scheduled time) is what the fleet
bench reports; the cyclic GC is frozen after the ramp, since a full
collection over ten thousand clients would show up as lateness.
"""

from __future__ import annotations

import gc
import heapq
import json
import logging
import math
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kiosk.protocol.payloads import (
    CommandAck,
    ScreenshotHeader,
    Status,
    encode_screenshot,
    parse_command,
)
from kiosk.protocol.topics import ANNOUNCE, Kind, kiosk_topic
from server.broker.identity import Identity
from server.fleet.mqtt import BrokerUrl, LinkError, Will, expiry_properties
from server.sim.hub import Hub, drop_connection
from server.sim.report import Lateness, SimReport, rss_mib

log = logging.getLogger(__name__)
PACK_HASH = "5" * 64
#: every client's keepalive is looked after once per round, a slice per tick
MISC_ROUND_S = 5.0
MISC_TICK_S = 0.05


@dataclass(frozen=True)
class SimOptions:
    #: heartbeat period of every simulated kiosk, s
    period_s: float = 30.0
    #: fraction of kiosks that lose power once during the run (for down_s)
    offline_frac: float = 0.05
    down_s: tuple[float, float] = (20.0, 90.0)
    #: fraction playing an older pack with expired metadata
    stale_frac: float = 0.1
    #: fraction whose UI is dead
    ui_dead_frac: float = 0.02
    #: current pack (the others play version - 1)
    pack_id: str = "lao-bao"
    pack_version: int = 3
    #: sha256 of the current pack's manifest
    pack_hash: str = PACK_HASH
    keepalive_s: int = 60
    will_delay_s: int = 10
    #: new connections per second while ramping up
    ramp_per_s: float = 2000.0
    seed: int = 1


class SimKiosk:
    __slots__ = (
        "boot",
        "client",
        "connected",
        "id",
        "power_off_at",
        "reboot",
        "seq",
        "seq0",
        "stale",
        "topic_hb",
        "ui_alive",
        "up_at",
    )

    def __init__(self, kiosk_id: str, stale: bool, ui_alive: bool) -> None:
        self.id = kiosk_id
        self.client: Any = None
        self.connected = False
        self.boot = secrets.token_hex(8)
        self.seq = 0
        self.seq0 = 1
        self.stale = stale
        self.ui_alive = ui_alive
        self.topic_hb = kiosk_topic(kiosk_id, Kind.HB)
        self.power_off_at: float | None = None
        #: when to come back (monotonic), and whether as a rebooted kiosk
        self.up_at: float | None = None
        self.reboot = False


class Simulator:
    def __init__(
        self,
        broker_url: str,
        identities: list[Identity],
        opts: SimOptions,
        *,
        ca: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.opts = opts
        self.clock = clock
        self.rng = random.Random(opts.seed)
        self.hub = Hub(
            BrokerUrl.parse(broker_url),
            ca=ca,
            on_connect=self._connected,
            on_message=self._message,
            on_disconnect=self._lost,
        )
        self.identities = {i.username: i for i in identities}
        self.kiosks = [
            SimKiosk(
                i.username,
                self.rng.random() < opts.stale_frac,
                self.rng.random() >= opts.ui_dead_frac,
            )
            for i in identities
        ]
        self.hb_props = expiry_properties(int(2 * opts.period_s))
        self.lateness = Lateness()
        self.sent = self.skipped = self.commands = self.power_cuts = self.reconnects = 0
        self._returns: list[tuple[float, int]] = []
        self._cpu0 = time.process_time()
        self._index = {k.id: i for i, k in enumerate(self.kiosks)}
        self._jpeg: bytes | None = None

    # --- hub callbacks ------------------------------------------------------------
    def _connected(self, kiosk: SimKiosk, ok: bool) -> None:
        if not ok:
            return
        kiosk.connected = True
        self.hub.subscribe(kiosk.client, kiosk_topic(kiosk.id, Kind.CMD), 1)
        self.hub.subscribe(kiosk.client, ANNOUNCE, 1)
        kiosk.seq0 = kiosk.seq + 1
        birth = Status(
            online=True,
            boot_id=kiosk.boot,
            seq0=kiosk.seq0,
            ts=self.clock(),
            hb_s=self.opts.period_s,
        )
        self.hub.publish(
            kiosk.client, kiosk_topic(kiosk.id, Kind.STATUS), birth.to_bytes(), 1, retain=True
        )

    def _lost(self, kiosk: SimKiosk) -> None:
        kiosk.connected = False
        if kiosk.up_at is None:  # the broker went away: reconnect with jitter
            self._back_at(kiosk, time.monotonic() + self.rng.uniform(1.0, 5.0), reboot=False)

    def _message(self, kiosk: SimKiosk, topic: str, payload: bytes) -> None:
        if topic == ANNOUNCE:
            return
        try:
            cmd = parse_command(payload)
        except Exception:
            return
        self.commands += 1
        ack_topic = kiosk_topic(kiosk.id, Kind.ACK)
        states: tuple[Literal["accepted"], Literal["done"]] = ("accepted", "done")
        for state in states:
            if state == "done" and cmd.op == "screenshot":
                header = ScreenshotHeader(
                    cmd_id=cmd.cmd_id, ts=self.clock(), width=320, height=180, screen="attract"
                )
                shot = kiosk_topic(kiosk.id, Kind.SCREENSHOT)
                self.hub.publish(
                    kiosk.client, shot, encode_screenshot(header, self._picture(kiosk.id)), 1
                )
            ack = CommandAck(
                cmd_id=cmd.cmd_id, state=state, reason="simulated kiosk", ts=self.clock()
            )
            self.hub.publish(kiosk.client, ack_topic, ack.to_bytes(), 1)

    def _picture(self, text: str) -> bytes:
        import io

        from PIL import Image, ImageDraw

        image = Image.new("RGB", (320, 180), (20, 60, 110))
        ImageDraw.Draw(image).text((12, 80), f"simulated kiosk {text}", fill=(255, 255, 255))
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=70)
        return buf.getvalue()

    # --- the kiosk's life ---------------------------------------------------------------
    def _open(self, kiosk: SimKiosk) -> None:
        will = Will(
            kiosk_topic(kiosk.id, Kind.STATUS),
            Status(online=False, boot_id=kiosk.boot, seq0=kiosk.seq + 1).to_bytes(),
            qos=1,
            retain=True,
            delay_s=self.opts.will_delay_s,
        )
        try:
            kiosk.client = self.hub.open(
                self.identities[kiosk.id],
                kiosk,
                will=will,
                keepalive=self.opts.keepalive_s,
                session_expiry=3600,
            )
        except OSError as exc:
            b = self.hub.broker
            raise LinkError(f"cannot reach the MQTT broker at {b.host}:{b.port}: {exc}") from None

    def _heartbeat(self, kiosk: SimKiosk, now_wall: float) -> bytes:
        kiosk.seq += 1
        o = self.opts
        version = max(1, o.pack_version - 1) if kiosk.stale else o.pack_version
        ui = (
            '{"alive":true,"screen":"attract","last_touch":null}'
            if kiosk.ui_alive
            else '{"alive":false,"screen":null,"last_touch":null}'
        )
        return (
            f'{{"boot_id":"{kiosk.boot}","seq":{kiosk.seq},"ts":{now_wall:.3f},"period":{o.period_s},'
            f'"uptime":{kiosk.seq * o.period_s:.1f},"pack":{{"id":"{o.pack_id}","version":{version},"hash":"{o.pack_hash}"}},'
            f'"ui":{ui},"temp":{52.5 + (kiosk.seq % 7)},"disk_free":{8_000_000_000 - kiosk.seq},'
            f'"time_floor":{now_wall - 3600:.0f},"stale":{"true" if kiosk.stale else "false"},"agent":"sim"}}'
        ).encode()

    def _power_cut(self, kiosk: SimKiosk, now: float) -> None:
        drop_connection(kiosk.client)
        kiosk.connected = False
        kiosk.power_off_at = None
        self._back_at(kiosk, now + self.rng.uniform(*self.opts.down_s), reboot=True)
        self.power_cuts += 1

    def _come_back(self, kiosk: SimKiosk, now: float) -> None:
        kiosk.up_at = None
        self.reconnects += 1
        if kiosk.reboot:
            # a rebooted kiosk: a new client with a new will (new boot id)
            kiosk.boot = secrets.token_hex(8)
            kiosk.seq = 0
            try:
                self._open(kiosk)
            except LinkError:
                self._back_at(kiosk, now + self.rng.uniform(2.0, 10.0), reboot=True)
        elif not self.hub.reconnect(kiosk.client):
            self._back_at(kiosk, now + self.rng.uniform(2.0, 10.0), reboot=False)

    def _back_at(self, kiosk: SimKiosk, at: float, *, reboot: bool) -> None:
        kiosk.up_at, kiosk.reboot = at, reboot
        heapq.heappush(self._returns, (at, self._index[kiosk.id]))

    def ramp(self, deadline: float | None = None) -> None:
        """Connect every kiosk at opts.ramp_per_s and wait for their CONNACKs."""
        start = time.monotonic()
        for i, kiosk in enumerate(self.kiosks):
            while i > (time.monotonic() - start) * self.opts.ramp_per_s:
                self.hub.poll(0.005)
            try:
                self._open(kiosk)
            except LinkError:
                if i == 0:
                    raise  # no broker there at all: say so
                self._back_at(kiosk, time.monotonic() + self.rng.uniform(1.0, 5.0), reboot=True)
            if i % 50 == 0:
                self.hub.poll(0)
        limit = deadline or time.monotonic() + 60
        while sum(k.connected for k in self.kiosks) < len(self.kiosks) and time.monotonic() < limit:
            self.hub.poll(0.05)
        gc.collect()
        gc.freeze()

    def run(self, duration_s: float, should_stop: Callable[[], bool] = lambda: False) -> SimReport:
        """Heartbeats for `duration_s` (after ramp()); returns the figures."""
        o = self.opts
        start = time.monotonic()
        self._cpu0 = time.process_time()
        end = start + duration_s
        heap = [(start + self.rng.uniform(0, o.period_s), i) for i in range(len(self.kiosks))]
        heapq.heapify(heap)
        n_cut = int(len(self.kiosks) * o.offline_frac)
        for kiosk in self.rng.sample(self.kiosks, n_cut):
            kiosk.power_off_at = start + self.rng.uniform(0, max(1.0, duration_s / 2))
        cuts = sorted(
            (k.power_off_at, i) for i, k in enumerate(self.kiosks) if k.power_off_at is not None
        )
        next_misc = start + MISC_TICK_S
        per_tick = max(1, math.ceil(len(self.kiosks) * MISC_TICK_S / MISC_ROUND_S))
        while not should_stop():
            now = time.monotonic()
            if now >= end:
                break
            wall = self.clock()
            while heap and heap[0][0] <= now:
                due, i = heapq.heappop(heap)
                kiosk = self.kiosks[i]
                heapq.heappush(heap, (due + o.period_s, i))
                if not kiosk.connected:
                    self.skipped += 1
                    continue
                payload = self._heartbeat(kiosk, wall)
                self.hub.publish(kiosk.client, kiosk.topic_hb, payload, 0, props=self.hb_props)
                self.lateness.add(time.monotonic() - due)
                self.sent += 1
            while cuts and cuts[0][0] <= now:
                _, i = cuts.pop(0)
                self._power_cut(self.kiosks[i], now)
            while self._returns and self._returns[0][0] <= now:
                at, i = heapq.heappop(self._returns)
                if self.kiosks[i].up_at == at:
                    self._come_back(self.kiosks[i], now)
            if now >= next_misc:
                next_misc = now + MISC_TICK_S
                self.hub.misc(per_tick)
            timeout = min(heap[0][0] if heap else end, end, next_misc) - time.monotonic()
            self.hub.poll(max(0.0, timeout))
        elapsed = time.monotonic() - start
        return self.report(elapsed)

    def report(self, elapsed: float) -> SimReport:
        return SimReport(
            kiosks=len(self.kiosks),
            connected=sum(k.connected for k in self.kiosks),
            sent=self.sent,
            skipped=self.skipped,
            commands=self.commands,
            power_cuts=self.power_cuts,
            reconnects=self.reconnects,
            elapsed_s=round(elapsed, 3),
            rate_hb_s=round(self.sent / elapsed, 1) if elapsed else 0.0,
            lateness_p50_ms=round(self.lateness.quantile(0.5) * 1000, 2),
            lateness_p99_ms=round(self.lateness.quantile(0.99) * 1000, 2),
            lateness_max_ms=round(self.lateness.worst * 1000, 2),
            rss_mib=round(rss_mib(), 1),
            cpu_share=round((time.process_time() - self._cpu0) / elapsed, 2) if elapsed else 0.0,
        )

    def kill(self, count: int) -> list[str]:
        """Cut the power of `count` connected kiosks now (for death-to-offline timing)."""
        victims = [k for k in self.kiosks if k.connected][:count]
        for kiosk in victims:
            drop_connection(kiosk.client)
            kiosk.connected = False
            kiosk.up_at = float("inf")  # stays dead
        return [k.id for k in victims]

    def close(self) -> None:
        """Shut the kiosks down as a real agent does: a retained goodbye, then DISCONNECT."""
        for kiosk in self.kiosks:
            if kiosk.connected:
                bye = Status(online=False, boot_id=kiosk.boot, seq0=kiosk.seq + 1, ts=self.clock())
                self.hub.publish(
                    kiosk.client, kiosk_topic(kiosk.id, Kind.STATUS), bye.to_bytes(), 1, retain=True
                )
        self.hub.poll(0.05)
        self.hub.close()


def load_credentials(path: Path) -> list[Identity]:
    """{"kiosk id": "password", ...} written by `bgk sim --data` (0600)."""
    data = json.loads(path.read_text())
    return [Identity(k, v) for k, v in sorted(data.items())]
