"""Simulated kiosks of one gate for bench/soak.py, each keeping its own journal.

    python bench/soakfleet.py --spec SPEC.json      (run inside the gate's namespace)

Every kiosk logs in with its own password over TLS (server.sim.hub.Hub:
one thread, epoll), publishes a retained birth status with a delayed will,
sends heartbeats (QoS 0), keeps an outbox of QoS 1 events (installs, commits,
traveller sessions) and command acks that it re-sends after every reconnect
until the broker acknowledges them, acknowledges signed commands (notices),
and syncs like an agent: on an announcement (after jitter) and periodically
it fetches timestamp.json and the offered manifest through nginx, and
installs the pack only when the manifest's SHA-256 is the one the TUF
metadata signs (verified with python-tuf, once per process per timestamp).

The journal (JSON lines, monotonic clock: the system's, never faked) is the
soak checker's independent record: heartbeats sent, events created and
acknowledged, commands received, packs installed, boots and deaths.
Control: the soak writes {"n": N, "op": ...} to the control file:
  burst             every connection dropped at once, all back at once
  clock  offset_s   the first `count` kiosks' clocks stepped by offset_s
  die    count      that many kiosks lose power for good
  stop              goodbye to the broker, final figures, exit
"""

from __future__ import annotations

import argparse
import hashlib
import json
import queue
import random
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from kiosk.agent.fetch import HttpSource  # noqa: E402
from kiosk.agent.tufclient import TufSession  # noqa: E402
from kiosk.protocol.delivery import TARGETS_PATH, PackOffer  # noqa: E402
from kiosk.protocol.payloads import CommandAck, Event, Status, parse_announce, parse_command  # noqa: E402
from kiosk.protocol.rollout import announce_delay  # noqa: E402
from kiosk.protocol.topics import ANNOUNCE, Kind, kiosk_topic  # noqa: E402
from server.broker.identity import Identity  # noqa: E402
from server.fleet.mqtt import BrokerUrl, Will, expiry_properties  # noqa: E402
from server.sim.hub import Hub, drop_connection  # noqa: E402

SYNC_EVERY_S = 120.0
ANNOUNCE_JITTER_S = 5.0
SESSION_EVENT_S = 300.0
NO_MATCHING_SUBSCRIBERS = 16


class Kiosk:
    __slots__ = (
        "boot", "client", "connected", "dead", "id", "inflight", "installed", "next_event",
        "offset", "outbox", "outbox_id", "pending", "resend_at", "seq", "sync_at", "syncing",
        "topic_hb",
    )  # fmt: skip

    def __init__(self, kiosk_id: str) -> None:
        self.id = kiosk_id
        self.client: Any = None
        self.connected = False
        self.dead = False
        self.boot = secrets.token_hex(8)
        self.seq = 0
        self.outbox_id = secrets.token_hex(8)
        self.outbox = 0
        #: outbox seq -> (topic, payload): until the broker's PUBACK
        self.pending: dict[int, tuple[str, bytes]] = {}
        self.inflight: dict[int, int] = {}
        self.installed: tuple[int, str] | None = None
        self.syncing = False
        self.sync_at = 0.0
        self.offset = 0.0
        self.next_event = 0.0
        #: send the outbox again then (a PUBACK said nobody was subscribed)
        self.resend_at = 0.0
        self.topic_hb = kiosk_topic(kiosk_id, Kind.HB)


class Verifier:
    """The newest signed offer for this gate, verified with python-tuf once per
    timestamp (the metadata is the same for every kiosk of the process)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.url = spec["http"]
        self.root = Path(spec["root"]).read_bytes()
        self.dir = Path(spec["tuf_cache"])
        self.gate = spec["gate"]
        self.lock = threading.Lock()
        self.known: dict[str, PackOffer | None] = {}

    def offer_for(self, timestamp: bytes) -> PackOffer | None:
        key = hashlib.sha256(timestamp).hexdigest()
        with self.lock:
            if key not in self.known:
                session = TufSession(self.dir, self.url, self.root, HttpSource(20.0), time.time())
                state = session.refresh()
                mine = [o for o in state.offers if o.addressed_to([self.gate])]
                verified = hashlib.sha256((self.dir / "timestamp.json").read_bytes()).hexdigest()
                self.known[verified] = max(mine, key=lambda o: o.seq, default=None)
            if key not in self.known:
                raise RuntimeError("the timestamp changed while it was verified: try again")
            return self.known[key]


class Fleet:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.rng = random.Random(spec["seed"])
        self.period = float(spec["period_s"])
        self.journal = open(spec["journal"], "a", buffering=1)  # noqa: SIM115
        self.hub = Hub(
            BrokerUrl.parse(spec["mqtt"]),
            ca=Path(spec["ca"]),
            on_connect=self._connected,
            on_message=self._message,
            on_disconnect=self._lost,
        )
        creds = json.loads(Path(spec["credentials"]).read_text())
        self.ids = {k: Identity(k, creds[k]) for k in spec["kiosks"]}
        self.kiosks = [Kiosk(k) for k in spec["kiosks"]]
        self.by_id = {k.id: k for k in self.kiosks}
        self.hb_props = expiry_properties(int(2 * self.period))
        self.verifier = Verifier(spec)
        self.jobs: queue.Queue[Kiosk | None] = queue.Queue()
        self.results: queue.Queue[tuple[Kiosk, tuple[int, str] | None]] = queue.Queue()
        self.workers = [
            threading.Thread(target=self._sync_worker, daemon=True) for _ in range(spec["workers"])
        ]
        self.control_n = 0
        self.counts = {"hb": 0, "events": 0, "acked": 0, "commands": 0, "installs": 0}

    def log(self, **rec: Any) -> None:
        rec["t"] = round(time.monotonic(), 3)
        self.journal.write(json.dumps(rec, separators=(",", ":")) + "\n")

    def wall(self, k: Kiosk) -> float:
        return time.time() + k.offset

    # --- hub callbacks ------------------------------------------------------------------
    def _connected(self, k: Kiosk, ok: bool) -> None:
        if not ok or k.dead:
            return
        k.connected = True
        k.client.on_publish = self._published
        self.hub.subscribe(k.client, kiosk_topic(k.id, Kind.CMD), 1)
        self.hub.subscribe(k.client, ANNOUNCE, 1)
        birth = Status(
            online=True, boot_id=k.boot, seq0=k.seq + 1, ts=self.wall(k), hb_s=self.period
        )
        self.hub.publish(k.client, kiosk_topic(k.id, Kind.STATUS), birth.to_bytes(), 1, retain=True)
        k.inflight.clear()
        for seq in sorted(k.pending):  # the outbox: everything not yet acknowledged
            self._send(k, seq)
        self._heartbeat(k)

    def _lost(self, k: Kiosk) -> None:
        k.connected = False

    def _published(self, _c: Any, k: Kiosk, mid: int, rc: Any, _p: Any) -> None:
        seq = k.inflight.pop(mid, None)
        if seq is not None and int(getattr(rc, "value", 0)) == NO_MATCHING_SUBSCRIBERS:
            k.resend_at = time.monotonic() + 5.0  # delivered nowhere: as the agent, again
            return
        if seq is not None and k.pending.pop(seq, None) is not None:
            self.counts["acked"] += 1
            self.log(k=k.id, e="ack", o=k.outbox_id, s=seq)

    def _message(self, k: Kiosk, topic: str, payload: bytes) -> None:
        if topic == ANNOUNCE:
            try:
                announce = parse_announce(payload)
            except Exception:
                return
            delay = announce_delay(
                self.rng, announce.jitter_s, ANNOUNCE_JITTER_S
            )  # the agent's rule
            self._want_sync(k, time.monotonic() + delay)
            return
        try:
            cmd = parse_command(payload)
        except Exception:
            return
        self.counts["commands"] += 1
        self.log(k=k.id, e="cmd", c=cmd.cmd_id, op=cmd.op)
        for state in ("accepted", "done"):
            ack = CommandAck(cmd_id=cmd.cmd_id, state=state, reason="soak", ts=self.wall(k))
            self._outbox(k, kiosk_topic(k.id, Kind.ACK), ack.to_bytes(), "ack")

    # --- the outbox ---------------------------------------------------------------------
    def _outbox(self, k: Kiosk, topic: str, payload: bytes, kind: str) -> None:
        k.outbox += 1
        k.pending[k.outbox] = (topic, payload)
        if kind != "ack":
            self.counts["events"] += 1
            self.log(k=k.id, e="ev", o=k.outbox_id, s=k.outbox, kind=kind)
        if k.connected:
            self._send(k, k.outbox)

    def _event(self, k: Kiosk, kind: str, data: dict[str, Any]) -> None:
        seq = k.outbox + 1
        body = Event(outbox_id=k.outbox_id, seq=seq, ts=self.wall(k), kind=kind, data=data)
        self._outbox(k, kiosk_topic(k.id, Kind.EVENTS), body.to_bytes(), kind)

    def _send(self, k: Kiosk, seq: int) -> None:
        topic, payload = k.pending[seq]
        info = k.client.publish(topic, payload, qos=1)
        k.inflight[info.mid] = seq
        self.hub.want_write(k.client)

    # --- heartbeats, syncs --------------------------------------------------------------
    def _heartbeat(self, k: Kiosk) -> None:
        k.seq += 1
        pack = (
            f'{{"id":"{self.spec["pack"]}","version":{k.installed[0]},"hash":"{k.installed[1]}"}}'
            if k.installed
            else "null"
        )
        now = self.wall(k)
        payload = (
            f'{{"boot_id":"{k.boot}","seq":{k.seq},"ts":{now:.3f},"period":{self.period},'
            f'"uptime":{k.seq * self.period:.1f},"pack":{pack},'
            '"ui":{"alive":true,"screen":"attract","last_touch":null},"temp":51.0,'
            f'"disk_free":8000000000,"time_floor":{now - 3600:.0f},"stale":false,"agent":"soak"}}'
        ).encode()
        self.hub.publish(k.client, k.topic_hb, payload, 0, props=self.hb_props)
        self.counts["hb"] += 1
        self.log(k=k.id, e="hb", b=k.boot, s=k.seq)

    def _want_sync(self, k: Kiosk, at: float) -> None:
        if not k.dead and (k.sync_at == 0.0 or at < k.sync_at):
            k.sync_at = at

    def _sync_worker(self) -> None:
        session = requests.Session()
        session.trust_env = False
        while (k := self.jobs.get()) is not None:
            result: tuple[int, str] | None = None
            try:
                ts = session.get(f"{self.spec['http']}/tuf/timestamp.json", timeout=20)
                ts.raise_for_status()
                offer = self.verifier.offer_for(ts.content)
                if offer is not None and (k.installed is None or offer.version > k.installed[0]):
                    folder, _, name = offer.path.rpartition("/")
                    url = f"{self.spec['http']}{TARGETS_PATH}{folder}/{offer.sha256}.{name}"
                    got = session.get(url, timeout=20)
                    got.raise_for_status()
                    if hashlib.sha256(got.content).hexdigest() != offer.sha256:
                        raise RuntimeError(f"{url}: not the signed manifest")
                    result = (offer.version, offer.sha256)
                elif k.installed is not None:
                    result = k.installed
            except Exception as exc:
                self.log(k=k.id, e="syncfail", why=str(exc)[:120])
            self.results.put((k, result))

    def _sync_done(self, k: Kiosk, result: tuple[int, str] | None, now: float) -> None:
        k.syncing = False
        if result is None:
            self._want_sync(k, now + self.rng.uniform(10, 30))
            return
        k.sync_at = now + SYNC_EVERY_S * self.rng.uniform(0.8, 1.2)
        if result != k.installed:
            previous = k.installed
            k.installed = result
            self.counts["installs"] += 1
            self.log(k=k.id, e="inst", v=result[0], h=result[1])
            data = {"pack": self.spec["pack"], "version": result[0]}
            self._event(k, "install", {**data, "from": previous[0] if previous else None})
            self._event(k, "commit", data)
            if k.connected:
                self._heartbeat(k)

    # --- control --------------------------------------------------------------------------
    def _control(self) -> bool:
        try:
            cmd = json.loads(Path(self.spec["control"]).read_text())
        except (OSError, ValueError):
            return True
        if cmd.get("n", 0) <= self.control_n:
            return True
        self.control_n = cmd["n"]
        op = cmd["op"]
        self.log(e="control", op=op)
        if op == "burst":
            for k in self.kiosks:
                if k.connected:
                    drop_connection(k.client)
            self.hub.poll(0.2)
            for k in self.kiosks:
                if not k.dead and k.client is not None:
                    self.hub.reconnect(k.client)
        elif op == "clock":
            for k in self.kiosks[: cmd.get("count", 1)]:
                k.offset = float(cmd["offset_s"])
        elif op == "die":
            for k in [k for k in self.kiosks if not k.dead][-cmd["count"] :]:
                k.dead = True
                if k.client is not None:
                    drop_connection(k.client)
                k.connected = False
                self.log(k=k.id, e="dead")
        elif op == "stop":
            return False
        return True

    # --- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        for w in self.workers:
            w.start()
        start = time.monotonic()
        ramp = float(self.spec.get("ramp_per_s", 500))
        for i, k in enumerate(self.kiosks):
            while i > (time.monotonic() - start) * ramp:
                self.hub.poll(0.005)
            self._open(k)
            self.log(k=k.id, e="boot", b=k.boot)
        due = {k.id: time.monotonic() + self.rng.uniform(0, self.period) for k in self.kiosks}
        for k in self.kiosks:
            k.next_event = time.monotonic() + self.rng.uniform(0, SESSION_EVENT_S)
            k.sync_at = time.monotonic() + self.rng.uniform(0, 30)
        next_control = next_misc = next_fig = 0.0
        while True:
            now = time.monotonic()
            for k in self.kiosks:
                if k.dead:
                    continue
                if now >= due[k.id]:
                    due[k.id] += self.period
                    if k.connected:
                        self._heartbeat(k)
                if now >= k.next_event:
                    k.next_event = now + SESSION_EVENT_S * self.rng.uniform(0.8, 1.2)
                    self._event(k, "interaction", {"sessions": 1, "seconds": 42.0})
                if k.sync_at and now >= k.sync_at and not k.syncing:
                    k.syncing, k.sync_at = True, 0.0
                    self.jobs.put(k)
                if k.resend_at and now >= k.resend_at and k.connected:
                    k.resend_at = 0.0
                    for seq in sorted(set(k.pending) - set(k.inflight.values())):
                        self._send(k, seq)
                gone = not k.connected and (k.client is None or k.client.socket() is None)
                if gone and self.rng.random() < 0.02:  # reconnect with jitter (~1 s at 20/s)
                    if k.client is None:
                        self._open(k)
                    else:
                        self.hub.reconnect(k.client)
            while not self.results.empty():
                k, result = self.results.get()
                self._sync_done(k, result, now)
            if now >= next_misc:
                next_misc = now + 0.05
                self.hub.misc(max(1, len(self.kiosks) // 100))
            if now >= next_control:
                next_control = now + 0.5
                if not self._control():
                    break
            if now >= next_fig:
                next_fig = now + 5
                self.figures()
            self.hub.poll(0.05)
        self.close()

    def _open(self, k: Kiosk) -> None:
        """A new client for `k` (TCP and TLS connect here, CONNACK in poll); on failure
        (the broker busy or away) the loop tries again."""
        will = Will(
            kiosk_topic(k.id, Kind.STATUS),
            Status(online=False, boot_id=k.boot, seq0=k.seq + 1).to_bytes(),
            qos=1,
            retain=True,
            delay_s=int(self.spec["will_delay_s"]),
        )
        try:
            k.client = self.hub.open(
                self.ids[k.id], k, will=will, keepalive=int(self.spec["keepalive_s"]),
                session_expiry=3600,
            )  # fmt: skip
        except OSError as exc:  # ssl.SSLError too
            k.client = None
            self.log(k=k.id, e="connfail", why=str(exc)[:120])

    def figures(self) -> None:
        connected = sum(k.connected for k in self.kiosks)
        out = {
            **self.counts,
            "connected": connected,
            "pending": sum(len(k.pending) for k in self.kiosks),
        }
        tmp = Path(self.spec["figures"] + ".tmp")
        tmp.write_text(json.dumps(out))
        tmp.replace(self.spec["figures"])

    def close(self) -> None:
        deadline = time.monotonic() + 20  # let the outboxes drain
        while any(k.pending for k in self.kiosks if k.connected) and time.monotonic() < deadline:
            self.hub.poll(0.05)
        for k in self.kiosks:
            if k.connected:
                bye = Status(online=False, boot_id=k.boot, seq0=k.seq + 1, ts=self.wall(k))
                self.hub.publish(
                    k.client, kiosk_topic(k.id, Kind.STATUS), bye.to_bytes(), 1, retain=True
                )
        self.hub.poll(0.2)
        self.figures()
        for _ in self.workers:
            self.jobs.put(None)
        self.hub.close()
        self.journal.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, required=True)
    spec = json.loads(parser.parse_args().spec.read_text())
    import gc

    fleet = Fleet(spec)
    gc.collect()
    fleet.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
