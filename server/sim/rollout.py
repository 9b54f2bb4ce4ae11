"""Simulated kiosks following a pack rollout as agents do (bench/rollout.py).

Each kiosk logs in with its own credentials (server.sim.hub.Hub: one thread,
epoll), subscribes to the pack announcements, and sends heartbeats of the
real schema with the version it plays. On an announcement of a repository
state it has not seen, it waits the delay of the agent's own rule
(kiosk.protocol.rollout.announce_delay: uniform in the announced window),
divided by `time_scale` when the bench compresses time, then syncs over HTTP
(server.sim.delivery: the requests an agent makes) on a pool of worker
threads. Once a newer pack is in, it reports as the agent does: an `install`
and a `commit` event (QoS 1) and a heartbeat at once.

The first announcement a kiosk receives after connecting is taken as seen: the
fleet starts in step with the repository, and only what is published during
the run is a rollout.
"""

from __future__ import annotations

import heapq
import queue
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from kiosk.protocol.payloads import Event, Status, parse_announce
from kiosk.protocol.rollout import DEFAULT_JITTER_S, announce_delay
from kiosk.protocol.topics import ANNOUNCE, Kind, kiosk_topic
from server.broker.identity import Identity
from server.fleet.mqtt import BrokerUrl, expiry_properties
from server.sim.delivery import SYNC_ERRORS, Delivery, Installed
from server.sim.hub import Hub


@dataclass(frozen=True)
class RolloutOptions:
    pack: str
    #: heartbeat period, s
    period_s: float = 30.0
    #: the announced delays are divided by this (10: a 300 s window passes in 30 s)
    time_scale: float = 1.0
    #: HTTP worker threads (each a kiosk's sync at a time, keep-alive connections)
    workers: int = 32
    #: a failed sync is tried again after a uniform delay in this range, s (scaled too)
    retry_s: tuple[float, float] = (10.0, 30.0)
    ramp_per_s: float = 1000.0
    seed: int = 1


@dataclass
class Kiosk:
    id: str
    gate: str
    installed: Installed | None
    client: Any = None
    connected: bool = False
    #: timestamp_version of the last announcement acted on (None: none yet)
    seen: int | None = None
    sync_at: float | None = None
    syncing: bool = False
    seq: int = 0
    events: int = 0
    boot: str = field(default_factory=lambda: secrets.token_hex(8))
    #: monotonic time the kiosk got onto each version
    arrived: dict[int, float] = field(default_factory=dict)


class RolloutFleet:
    def __init__(
        self,
        broker_url: str,
        identities: list[Identity],
        gates: dict[str, str],
        installed: Installed,
        delivery: Delivery,
        opts: RolloutOptions,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.opts, self.delivery, self.clock = opts, delivery, clock
        #: the announcement delays have a generator of their own (the seed alone decides them)
        self.jitter_rng = random.Random(opts.seed)
        self.rng = random.Random(opts.seed + 1_000_003)
        self.hub = Hub(
            BrokerUrl.parse(broker_url),
            ca=None,
            on_connect=self._connected,
            on_message=self._message,
            on_disconnect=self._lost,
        )
        self.identities = {i.username: i for i in identities}
        self.kiosks = [Kiosk(i.username, gates[i.username], installed) for i in identities]
        self.hb_props = expiry_properties(int(2 * opts.period_s))
        self.outbox_id = secrets.token_hex(8)
        #: monotonic time of the first announcement of each repository state
        self.announced: dict[int, float] = {}
        self.delays: list[float] = []
        self.failures = 0
        self._jobs: queue.Queue[Kiosk | None] = queue.Queue()
        self._results: queue.Queue[tuple[Kiosk, Installed | None]] = queue.Queue()
        self._workers = [
            threading.Thread(target=self._work, daemon=True, name=f"sync-{n}")
            for n in range(opts.workers)
        ]
        self._due: list[tuple[float, int]] = []

    # --- hub callbacks --------------------------------------------------------------
    def _connected(self, k: Kiosk, ok: bool) -> None:
        if not ok:
            return
        k.connected = True
        self.hub.subscribe(k.client, ANNOUNCE, 1)
        birth = Status(online=True, boot_id=k.boot, seq0=k.seq + 1, ts=self.clock(),
                       hb_s=self.opts.period_s)  # fmt: skip
        self.hub.publish(k.client, kiosk_topic(k.id, Kind.STATUS), birth.to_bytes(), 1, retain=True)
        self._heartbeat(k)

    def _lost(self, k: Kiosk) -> None:
        k.connected = False

    def _message(self, k: Kiosk, topic: str, payload: bytes) -> None:
        if topic != ANNOUNCE:
            return
        try:
            announce = parse_announce(payload)
        except Exception:
            return
        version = announce.timestamp_version
        if k.seen is None:  # at connection: the state the fleet starts in
            k.seen = version
            return
        if version == k.seen:
            return
        k.seen = version
        now = time.monotonic()
        self.announced.setdefault(version, now)
        delay = announce_delay(self.jitter_rng, announce.jitter_s, DEFAULT_JITTER_S)
        self.delays.append(delay)
        self._want_sync(k, now + delay / self.opts.time_scale)

    # --- syncs --------------------------------------------------------------------
    def _want_sync(self, k: Kiosk, at: float) -> None:
        if k.sync_at is None or at < k.sync_at:
            k.sync_at = at
            heapq.heappush(self._due, (at, id(k)))

    def _work(self) -> None:
        session = requests.Session()
        session.trust_env = False
        while (k := self._jobs.get()) is not None:
            try:
                result = self.delivery.sync(session, k.gate, self.opts.pack, k.installed)
            except SYNC_ERRORS:
                result = None
            self._results.put((k, result))

    def _done(self, k: Kiosk, result: Installed | None, now: float) -> None:
        k.syncing = False
        if result is None:
            self.failures += 1
            low, high = self.opts.retry_s
            self._want_sync(k, now + self.rng.uniform(low, high) / self.opts.time_scale)
            return
        previous, k.installed = k.installed, result
        if previous is not None and previous.version == result.version:
            return
        k.arrived[result.version] = now
        if k.connected:
            data = {"pack": self.opts.pack, "version": result.version}
            self._event(k, "install", {**data, "from": previous.version if previous else None})
            self._event(k, "commit", data)
            self._heartbeat(k)

    # --- what a kiosk publishes -------------------------------------------------------
    def _event(self, k: Kiosk, kind: str, data: dict[str, Any]) -> None:
        k.events += 1
        body = Event(outbox_id=f"{self.outbox_id}{k.id[-5:]}", seq=k.events, ts=self.clock(),
                     kind=kind, data=data)  # fmt: skip
        self.hub.publish(k.client, kiosk_topic(k.id, Kind.EVENTS), body.to_bytes(), 1)

    def _heartbeat(self, k: Kiosk) -> None:
        k.seq += 1
        now = self.clock()
        inst = k.installed
        pack = (
            f'{{"id":"{self.opts.pack}","version":{inst.version},"hash":"{inst.sha256}"}}'
            if inst
            else "null"
        )
        payload = (
            f'{{"boot_id":"{k.boot}","seq":{k.seq},"ts":{now:.3f},"period":{self.opts.period_s},'
            f'"uptime":{k.seq * self.opts.period_s:.1f},"pack":{pack},'
            '"ui":{"alive":true,"screen":"attract","last_touch":null},"temp":51.0,'
            f'"disk_free":8000000000,"time_floor":{now - 3600:.0f},"stale":false,"agent":"sim"}}'
        ).encode()
        self.hub.publish(k.client, kiosk_topic(k.id, Kind.HB), payload, 0, props=self.hb_props)

    # --- the loop -----------------------------------------------------------------------
    def ramp(self, timeout: float = 120.0) -> None:
        """Connect every kiosk and wait until each has its first announcement."""
        start = time.monotonic()
        for i, k in enumerate(self.kiosks):
            while i > (time.monotonic() - start) * self.opts.ramp_per_s:
                self.hub.poll(0.005)
            k.client = self.hub.open(self.identities[k.id], k, will=None,
                                     keepalive=60, session_expiry=0)  # fmt: skip
        deadline = time.monotonic() + timeout
        while any(k.seen is None for k in self.kiosks):
            if time.monotonic() > deadline:
                missing = sum(k.seen is None for k in self.kiosks)
                raise TimeoutError(f"{missing} simulated kiosks got no announcement")
            self.hub.poll(0.05)
        for w in self._workers:
            w.start()

    def run_until(self, done: Callable[[], bool], timeout: float) -> None:
        """Heartbeats, announcements and syncs until `done()` or `timeout` s."""
        by_id = {id(k): k for k in self.kiosks}
        period = self.opts.period_s
        beats = [
            (time.monotonic() + self.rng.uniform(0, period), n) for n in range(len(self.kiosks))
        ]
        heapq.heapify(beats)
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            now = time.monotonic()
            while beats and beats[0][0] <= now:
                _, n = heapq.heappop(beats)
                heapq.heappush(beats, (now + period, n))
                if self.kiosks[n].connected:
                    self._heartbeat(self.kiosks[n])
            while self._due and self._due[0][0] <= now:
                at, key = heapq.heappop(self._due)
                k = by_id[key]
                if k.sync_at == at and not k.syncing:
                    k.sync_at, k.syncing = None, True
                    self._jobs.put(k)
            while not self._results.empty():
                k, result = self._results.get()
                self._done(k, result, time.monotonic())
            self.hub.misc(max(1, len(self.kiosks) // 100))
            wake = min(beats[0][0], self._due[0][0]) if self._due else beats[0][0]
            self.hub.poll(min(0.02, max(0.0, wake - time.monotonic())))

    def on_version(self, version: int) -> int:
        return sum(1 for k in self.kiosks if k.installed and k.installed.version >= version)

    def close(self) -> None:
        for _ in self._workers:
            self._jobs.put(None)
        self.hub.poll(0.2)
        self.hub.close()
