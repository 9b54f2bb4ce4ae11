"""A real kiosk agent for bench/soak.py, with a journal beside it.

    python bench/soak_agent.py --config kiosk.toml --journal FILE

The same objects as `bgk kiosk agent` (kiosk.agent.cli._agent: Syncer,
AgentService, FleetLink with its disk outbox), wired the same way; on top,
an append-only journal that the soak checker compares with the server's
store: every message the outbox stores (events with their outbox id and
seq) and every PUBACK, every heartbeat sent, and every pack switched to with
the SHA-256 of the manifest bytes on the kiosk's own disk (`current/`).

Times in the journal are CLOCK_MONOTONIC (the soak runs this process under
libfaketime with FAKETIME_DONT_FAKE_MONOTONIC=1 to step its wall clock).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kiosk.agent import cli as agent_cli  # noqa: E402
from kiosk.agent import fleet as fleet_module  # noqa: E402
from kiosk.agent.events import AgentEvent, LogSink  # noqa: E402
from kiosk.agent.fleet import FleetLink, Tee  # noqa: E402
from kiosk.agent.heartbeat import facts_from_status  # noqa: E402
from kiosk.agent.outbox import Outbox  # noqa: E402
from kiosk.agent.service import AgentService  # noqa: E402
from kiosk.agent.status import kiosk_status  # noqa: E402
from kiosk.agent.sync import Syncer  # noqa: E402
from kiosk.config import load_config  # noqa: E402
from kiosk.protocol.pack import MANIFEST_NAME  # noqa: E402


class Journal:
    def __init__(self, path: Path, kiosk: str) -> None:
        self.fh = open(path, "a", buffering=1)  # noqa: SIM115
        self.kiosk = kiosk
        self.lock = threading.Lock()

    def log(self, **rec: Any) -> None:
        rec.update(k=self.kiosk, t=round(time.monotonic(), 3))
        with self.lock:
            self.fh.write(json.dumps(rec, separators=(",", ":")) + "\n")


JOURNAL: Journal | None = None


class JournalOutbox(Outbox):
    def add(self, kind: str, body: bytes, now: float) -> int:
        seq = super().add(kind, body, now)
        assert JOURNAL is not None
        if kind == "events":
            JOURNAL.log(e="ev", o=self.outbox_id, s=seq, kind=json.loads(body)["kind"])
        return seq

    def done(self, seq: int) -> None:
        super().done(seq)
        assert JOURNAL is not None
        JOURNAL.log(e="ack", o=self.outbox_id, s=seq)


class JournalFleetLink(FleetLink):
    def _heartbeat(self) -> None:
        before = self.seq
        super()._heartbeat()
        if self.seq > before and JOURNAL is not None:
            JOURNAL.log(e="hb", b=self.boot_id, s=self.seq)


class InstallSink:
    """Journals each pack switched to, hashing the manifest the kiosk now plays."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def emit(self, event: AgentEvent) -> None:
        assert JOURNAL is not None
        if event.kind == "install":
            data = (self.state_dir / "current" / MANIFEST_NAME).read_bytes()
            manifest = json.loads(data)
            JOURNAL.log(
                e="inst", v=manifest["version"], h=hashlib.sha256(data).hexdigest(),
                pack=manifest["id"],
            )  # fmt: skip
        elif event.kind in ("rollback", "rejected", "error"):
            JOURNAL.log(e="agent", kind=event.kind, msg=event.message[:200])


def main() -> int:
    global JOURNAL
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    args = parser.parse_args()
    config = load_config(args.config)
    JOURNAL = Journal(args.journal, config.kiosk.id)
    fleet_module.Outbox = JournalOutbox  # type: ignore[attr-defined]
    services: list[AgentService] = []
    fleet = JournalFleetLink(
        config,
        facts=lambda now: facts_from_status(kiosk_status(config, now)),
        trigger_sync=lambda: services[0].trigger_sync(),
    )
    deps = agent_cli._deps(config, agent_cli._http(config), config.server.url)
    deps = replace(deps, events=Tee(LogSink(), fleet, InstallSink(config.kiosk.state_dir)))
    syncer = Syncer(config, agent_cli._root(config), deps)
    service = AgentService(syncer)
    services.append(service)
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    JOURNAL.log(e="boot", b=fleet.boot_id)
    fleet.start()
    try:
        service.run()
    finally:
        fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
