"""Gate sharing: one download over the gate's uplink, shared by its kiosks.

    [share]                       (kiosk.toml; kiosk/config.py ShareConfig)
    enabled = true
    listen = "192.168.1.21:8765"  this kiosk's LAN address (never 0.0.0.0)
    peers = ["192.168.1.22:8765", "192.168.1.23:8765"]

The agent serves the blobs it verified (kiosk/agent/share_server.py, its own
threads, read-only) and fetches each blob from the gate's other kiosks first,
the server second (kiosk/agent/share_client.py). TUF is unchanged: a peer is an
untrusted mirror, every byte is checked against the signed manifest.

Peers are listed in kiosk.toml (static): see docs/gate-sharing.md for why,
and for the firewall line.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.agent.layout import Layout
from kiosk.agent.ratelimit import bandwidth_limiter
from kiosk.agent.share_client import ShareClient
from kiosk.agent.share_index import Board
from kiosk.agent.share_server import ShareServer
from kiosk.common.files import atomic_write_json, read_json
from kiosk.config import KioskConfig, split_address
from kiosk.protocol.errors import UsageError

log = logging.getLogger("bgk.share")


#: the agent writes what sharing did here (read by `bgk kiosk status` and the heartbeat)
REPORT_NAME = "share.json"
#: seconds between looks at the counters (written only when they changed)
REPORT_S = 5.0


def report_path(layout: Layout) -> Path:
    return layout.agent / REPORT_NAME


def read_report(layout: Layout) -> dict[str, Any] | None:
    """The last report the agent wrote (None without one, or a damaged one)."""
    try:
        data = read_json(report_path(layout))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class Sharing:
    """The share server, the client for the sync, and the thread that writes their
    counters to agent/share.json (the server itself writes nothing)."""

    server: ShareServer
    client: ShareClient
    layout: Layout
    _stop: threading.Event = field(default_factory=threading.Event)

    def start_reports(self) -> None:
        threading.Thread(target=self._reports, name="share-report", daemon=True).start()

    def _reports(self) -> None:
        last: dict[str, object] | None = None
        while True:
            report = self.client.board.report()
            if report != last:
                try:
                    atomic_write_json(report_path(self.layout), report, durable=False)
                    last = report
                except OSError as exc:
                    log.warning("share: cannot write %s: %s", report_path(self.layout), exc)
            if self._stop.wait(REPORT_S):
                return

    def stop(self) -> None:
        self._stop.set()
        self.server.stop()


def start_sharing(config: KioskConfig) -> Sharing | None:
    """The share server started and the client for the sync (None when [share] is off)."""
    share = config.share
    if not share.enabled:
        return None
    host, port = split_address(share.listen, "[share] listen")
    layout = Layout(config.kiosk.state_dir)
    layout.ensure()
    board = Board()
    try:
        server = ShareServer(
            layout,
            board,
            host,
            port,
            max_connections=share.max_connections,
            limiter=bandwidth_limiter(share.rate_kbps),
        ).start()
    except OSError as exc:
        raise UsageError(
            f"cannot serve the gate's kiosks on {share.listen} ({exc.strerror}): is it this "
            "kiosk's LAN address, and the port free? Fix [share] listen or set enabled = false"
        ) from None
    client = ShareClient(
        me=share.listen,
        peers=share.peers,
        board=board,
        stall_s=share.stall_s,
        min_rate=share.min_kbps * 1000 / 8,
    )
    log.info(
        "sharing verified blobs with %d kiosks of the gate on %s", len(share.peers), share.listen
    )
    sharing = Sharing(server, client, layout)
    sharing.start_reports()
    return sharing
