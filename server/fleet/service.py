"""The server's fleet service: MQTT ingest, sweeping, commands, server presence.

One thread pumps one MQTT link (server.fleet.mqtt.Link) and batches what
arrives: a batch is committed when it is `batch_ms` old or `batch_max`
long, and only then are its QoS 1 messages acknowledged (manual acks), so
the broker redelivers whatever a crash lost. Heartbeats (QoS 0) have no
ack; a heartbeat lost in a crash is replaced by the next one.

Roles: the "main" process (`bgk server run`) has two links: a control link
(MQTT v5, broker account _server-1) for the server's retained status with
its LWT and for commands with message expiry, and the ingest link
(MQTT 3.1.1, _server-2: see server.fleet.mqtt.Link for why). "ingest"
processes (`bgk server ingest --client N`, N >= 3) have the ingest link only.
Several processes share the load with [mqtt] share = true ($share/ingest/...).

Several processes against one store (server.fleet.lease): each claims its
broker accounts as leases (two logins with one account would throw each
other off the broker); the "fleet-sweeper" lease decides which one sweeps,
and among main processes the "fleet-control" lease which one connects the
control link (server status, commands, announcements). The others ingest.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.exc import SQLAlchemyError

from kiosk.common.backoff import Backoff
from kiosk.protocol.payloads import ServerStatus
from kiosk.protocol.topics import (
    ANNOUNCE,
    KIOSK_TO_SERVER,
    SERVER_STATUS,
    SHARE_GROUP,
    kiosk_filter,
)
from server.broker.credentials import server_identity
from server.broker.pki import FleetKeys
from server.config import ServerConfig
from server.fleet.announce import AnnounceWatcher
from server.fleet.ingest import IngestWriter, Raw
from server.fleet.lease import FleetLeases
from server.fleet.mqtt import Link, Will
from server.fleet.remote import due_commands, mark_sent
from server.fleet.stats import Stats
from server.fleet.sweeper import Sweeper
from server.store import Store

log = logging.getLogger(__name__)
Role = Literal["main", "ingest"]
#: in-memory batch cap while the store is failing (QoS 0 beyond it is dropped)
MAX_PENDING = 200_000


class FleetService:
    name = "fleet ingest"

    def __init__(
        self,
        cfg: ServerConfig,
        store: Store,
        keys: FleetKeys,
        *,
        role: Role = "main",
        client_index: int = 1,
        share: bool | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        stats_path: Path | None = None,
    ) -> None:
        """`client_index`: the broker account of the ingest link (_server-N); a main
        service's control link uses _server-N and its ingest link _server-(N+1)."""
        self.cfg, self.store, self.keys, self.role = cfg, store, keys, role
        self.clock = clock
        self.fleet = cfg.fleet
        self.writer = IngestWriter(store, cfg.fleet, cfg.data)
        self.sweeper = Sweeper(store, cfg.fleet, cfg.data)
        self.stats = Stats()
        self.stats_path = stats_path
        rng = rng or random.Random()
        ca = cfg.mqtt.ca or keys.ca_cert
        group = SHARE_GROUP if (cfg.mqtt.share if share is None else share) else None
        subs = [(kiosk_filter(kind, group), 1) for kind in KIOSK_TO_SERVER]
        ingest_index = client_index + 1 if role == "main" else client_index
        # the hot path: MQTT 3.1.1, manual acks after commit (see Link)
        self.link = Link(
            cfg.mqtt.url,
            server_identity(keys, ingest_index),
            ca=ca,
            subscriptions=subs,
            on_message=self._received,
            on_connected=self._connected,
            v5=False,
            backoff=Backoff(base=0.5, cap=30.0, rng=rng),
        )
        self.control: Link | None = None
        self.announcer = AnnounceWatcher(cfg)
        accounts = [ingest_index] if role == "ingest" else [client_index, ingest_index]
        self.leases = FleetLeases(
            store,
            [server_identity(keys, n).username for n in accounts],
            control=role == "main",
            ttl_s=cfg.fleet.leader_lease_s,
            server_clients=cfg.mqtt.server_clients,
        )
        if role == "main":
            # MQTT v5: retained server status with an LWT, commands with message expiry
            down = ServerStatus(online=False, ts=clock()).to_bytes()
            self.control = Link(
                cfg.mqtt.url,
                server_identity(keys, client_index),
                ca=ca,
                subscriptions=[],
                on_message=lambda *_: None,
                on_connected=self._control_up,
                on_published=self._published,
                will=Will(SERVER_STATUS, down, qos=1, retain=True),
                manual_ack=False,
                backoff=Backoff(base=0.5, cap=30.0, rng=rng),
            )
        self._batch: list[Raw] = []
        self._conn = 0
        self._sending: dict[int, str] = {}
        self._sent_ids: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def links(self) -> list[Link]:
        return [self.link] if self.control is None else [self.link, self.control]

    @property
    def controlling(self) -> bool:
        """Whether this process holds the control lease (and so the control link)."""
        return self.leases.controlling

    @property
    def connected(self) -> bool:
        """The ingest link is up, and the control link too when this process leads."""
        if not self.link.connected:
            return False
        if self.control is None:
            return True
        return self.leases.decided and (self.control.connected or not self.controlling)

    # --- link callbacks -----------------------------------------------------------
    def _received(self, topic: str, payload: bytes, qos: int, mid: int, _props: Any) -> None:
        now = time.monotonic()
        self._batch.append(Raw(topic, payload, qos, mid, now, self._conn))
        self.stats.received += 1
        if self.stats.first_mono is None:
            self.stats.first_mono = now
            self.stats.first_cpu = time.process_time()

    def _connected(self, session_present: bool) -> None:
        self._conn += 1  # acks of messages from an earlier connection are void
        self.stats.connects += 1
        state = "kept" if session_present else "new"
        log.info("fleet ingest link up (%s, session %s)", self.link.identity.username, state)

    def _control_up(self, _session_present: bool) -> None:
        assert self.control is not None
        up = ServerStatus(online=True, ts=self.clock()).to_bytes()
        self.control.publish(SERVER_STATUS, up, 1, retain=True)
        self.announcer = AnnounceWatcher(self.cfg)  # announce again on every connection
        self._sending.clear()
        self._sent_ids.clear()

    def _published(self, mid: int, reason: int) -> None:
        cmd_id = self._sending.pop(mid, None)
        if cmd_id is None:
            return
        try:
            failure = None if reason < 128 else f"reason code {reason}"
            mark_sent(self.store, cmd_id, self.clock(), failure)
        except SQLAlchemyError as exc:
            log.error("cannot record command %s as sent: %s", cmd_id, exc)

    # --- the loop -------------------------------------------------------------------
    def flush(self) -> None:
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        try:
            result = self.writer.write(batch, self.clock())
        except SQLAlchemyError as exc:
            self.stats.db_errors += 1
            log.error("fleet store write failed (%s); retrying", str(exc).splitlines()[0])
            self._batch = _trim(batch + self._batch)
            time.sleep(min(1.0, 0.05 * self.stats.db_errors))
            return
        done = time.monotonic()
        self.stats.last_commit_mono = done
        for raw in batch:
            self.stats.latency.add(done - raw.mono)
        self.stats.committed += sum(result.accepted.values())
        self.stats.dropped += sum(result.dropped.values())
        self.stats.batches += 1
        if self.link.connected:
            self.link.ack([r.mid for r in batch if r.qos > 0 and r.conn == self._conn])
            self.link.flush()

    def _send_commands(self) -> None:
        assert self.control is not None
        for out in due_commands(self.store, self.clock(), self._sent_ids):
            mid = self.control.publish(out.topic, out.payload, 1, expiry_s=out.expiry_s)
            self._sending[mid] = out.cmd_id
            self._sent_ids.add(out.cmd_id)

    def sweep_loop(self) -> None:
        """Leases; and, while this process holds the sweeper lease, states by heartbeat
        age, alerts, command expiry, retention: on their own thread, so that a sweep
        over thousands of kiosks never delays the ingest. Without the lease, the
        states the leader derives are read back (the ingest's hint of who is offline)."""
        next_retention = time.monotonic() + 60
        next_sweep = time.monotonic() + self.fleet.sweep_s
        period = min(self.fleet.sweep_s, self.fleet.leader_lease_s / 3)
        wait = period
        while not self._stop.wait(wait):
            wait = period
            try:
                self.leases.renew()
                if time.monotonic() < next_sweep:
                    wait = max(0.0, min(period, next_sweep - time.monotonic()))
                    continue
                next_sweep = time.monotonic() + self.fleet.sweep_s
                if not self.leases.sweeping:
                    self.writer.load_known()
                    continue
                swept = self.sweeper.sweep(self.clock())
                self.writer.known.update(swept.states)
                if time.monotonic() >= next_retention:
                    next_retention = time.monotonic() + 3600
                    self.sweeper.retention(self.clock())
            except SQLAlchemyError as exc:
                # one line per try, a period apart (a store that is down is not spun on)
                log.error("fleet store failed during sweeping: %s", str(exc).splitlines()[0])

    def run(self) -> None:
        self.leases.claim()
        sweeper = threading.Thread(target=self.sweep_loop, name="fleet-sweeper", daemon=True)
        sweeper.start()
        try:
            self._run()
        finally:
            self._stop.set()
            sweeper.join(30)

    def _run(self) -> None:
        batch_s = self.fleet.batch_ms / 1000
        next_cmds = next_stats = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            self.link.maintain(now)
            control = self.control
            if control is not None:
                if self.controlling:
                    control.maintain(now)
                elif control.has_socket():
                    log.info("another server process leads: closing the control link")
                    control.close()
            due = now + 0.2 if not self._batch else self._batch[0].mono + batch_s
            if self.link.has_socket():
                self.link.pump(max(0.0, due - now), until=due)
            else:
                self._stop.wait(min(max(0.0, due - now), 0.2))
            if control is not None and control.has_socket():
                control.pump(0)
            now = time.monotonic()
            if self._batch and (
                len(self._batch) >= self.fleet.batch_max or now - self._batch[0].mono >= batch_s
            ):
                self.flush()
            try:
                if control is not None and control.connected and now >= next_cmds:
                    next_cmds = now + 0.5
                    self._send_commands()
                    announce = self.announcer.changed()
                    if announce is not None:
                        control.publish(ANNOUNCE, announce.to_bytes(), 1, retain=True)
                        log.info("announced %s", announce.packs)
            except SQLAlchemyError as exc:
                log.error("fleet store failed sending commands: %s", str(exc).splitlines()[0])
            if self.stats_path is not None and now >= next_stats:
                next_stats = now + 1.0
                self.write_stats()
        self.flush()
        self.write_stats()

    def write_stats(self) -> None:
        if self.stats_path is not None:
            tmp = self.stats_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.stats.as_dict()))
            tmp.replace(self.stats_path)

    def health(self) -> dict[str, Any]:
        """For /healthz: the MQTT links up and the ingest thread running."""
        running = self._thread is not None and self._thread.is_alive()
        return {
            "ok": running and self.connected,
            "mqtt": "connected" if self.connected else "disconnected",
            "running": running,
            "received": self.stats.received,
            "db_errors": self.stats.db_errors,
            #: which of the fleet's single jobs this process does now (lease.py)
            "sweeper": self.leases.sweeping,
            "control": self.controlling,
        }

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        self.leases.claim()
        self._thread = threading.Thread(target=self._guarded_run, name="fleet-ingest", daemon=True)
        self._thread.start()

    def _guarded_run(self) -> None:
        try:
            self.run()
        except Exception:
            log.exception("the fleet service stopped on an unexpected error")
            raise

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        control = self.control
        if control is not None and control.connected:
            down = ServerStatus(online=False, ts=self.clock()).to_bytes()
            control.publish(SERVER_STATUS, down, 1, retain=True)
            control.pump(0.1)
        for link in self.links:
            link.close()
        self.leases.release()

    def request_stop(self) -> None:
        self._stop.set()


def _trim(batch: list[Raw]) -> list[Raw]:
    """Keep every QoS 1 message (unacknowledged, so bounded by Receive Maximum) and
    the newest QoS 0 ones up to MAX_PENDING."""
    if len(batch) <= MAX_PENDING:
        return batch
    keep_q0 = MAX_PENDING - sum(1 for r in batch if r.qos > 0)
    q0 = [i for i, r in enumerate(batch) if r.qos == 0]
    drop = set(q0[: max(0, len(q0) - keep_q0)])
    log.error("the fleet store is failing: dropping %d heartbeats held in memory", len(drop))
    return [r for i, r in enumerate(batch) if i not in drop]


class _OwnedStore(FleetService):
    """A FleetService that opened its own store (and closes it when stopped)."""

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self.store.dispose()


def fleet_service(cfg: ServerConfig, client_index: int = 1) -> FleetService:
    """The main fleet service of `bgk server run` (broker accounts _server-N for the
    control link and _server-(N+1) for the ingest)."""
    from server.broker.pki import ensure_fleet_keys
    from server.fleet_settings import broker_hostnames
    from server.store import open_store

    keys = ensure_fleet_keys(cfg.data, broker_hostnames(cfg.mqtt))
    return _OwnedStore(cfg, open_store(cfg.store_url), keys, role="main", client_index=client_index)
