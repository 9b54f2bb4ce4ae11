"""`bgk kiosk sync|status|import|agent|doctor` (the kiosk side of pack delivery)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.common.cli import Registry

if TYPE_CHECKING:
    from kiosk.agent.sync import CycleResult, Deps, Syncer
    from kiosk.config import KioskConfig

#: `bgk kiosk import` gives up after this long (a 4 GB pack from a slow stick takes ~15 min)
IMPORT_TIME_LIMIT_S = 1800.0
#: after the time limit, this long for the import to stop by itself before the process ends
IMPORT_GRACE_S = 30.0


def register(registry: Registry) -> None:
    p = registry.add(
        "kiosk sync", "one verified sync: fetch, verify and install the newest pack", _sync
    )
    _config(p)
    p.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "kiosk status", "installed and previous pack, last sync, last error, stale", _status
    )
    _config(p)
    p.add_argument("--json", action="store_true", help="print as JSON")

    p = registry.add(
        "kiosk import", "install a signed pack from a USB folder (bgk server export)", _import
    )
    p.add_argument("dir", type=Path, help="the exported folder (on the USB stick)")
    _config(p)
    p.add_argument(
        "--time-limit",
        type=float,
        default=IMPORT_TIME_LIMIT_S,
        metavar="SECONDS",
        help=f"give up when reading the stick takes longer, 10..86400 (default {IMPORT_TIME_LIMIT_S:.0f})",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "kiosk agent", "the kiosk's always-on service: sync, install, commit/revert", _agent
    )
    _config(p)

    p = registry.add(
        "kiosk doctor",
        "what is wrong on this kiosk: screen, touch, clock, server, broker, pack (exit 1 if any)",
        _doctor,
    )
    _config(p)
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="language (default: vi)")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")


def _config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        default=Path("/etc/bgk/kiosk.toml"),
        help="kiosk.toml (default /etc/bgk/kiosk.toml; an enrolment bundle's works as is)",
    )


def _load(args: argparse.Namespace) -> KioskConfig:
    from kiosk.config import load_config

    return load_config(args.config)


def _root(config: KioskConfig) -> bytes:
    from kiosk.protocol.errors import UsageError

    try:
        return config.server.trusted_root.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read the trusted root {config.server.trusted_root}: {exc.strerror}; "
            "copy the enrolment bundle again"
        ) from None


def _deps(config: KioskConfig, source: Any, base_url: str) -> Deps:
    from kiosk.agent.checkpoints import Checkpoints
    from kiosk.agent.sync import Deps

    return Deps(source=source, base_url=base_url, checkpoint=Checkpoints.from_env(os.environ))


def _http(config: KioskConfig) -> Any:
    from kiosk.agent.fetch import HttpSource
    from kiosk.agent.ratelimit import bandwidth_limiter

    return HttpSource(
        config.sync.timeout_s,
        limiter=bandwidth_limiter(config.sync.bandwidth_kbps),
        ca=config.server.ca,
    )


def _once(syncer: Syncer, only_pack: str | None) -> tuple[CycleResult, str | None]:
    """A cycle, then the health decision about what it installed (with a UI, wait
    for it up to health_wait_s; a still-undecided pack is left to the agent)."""
    from kiosk.agent.layout import SyncLock
    from kiosk.local import HEALTH_PERIOD_S

    with SyncLock(syncer.layout.lock_file):
        result = syncer.cycle(only_pack)
        started = time.monotonic()
        while True:
            verdict = syncer.settle(waited_s=0.0, wait_limit_s=float("inf"))
            if verdict is None:
                return result, None
            if verdict.action != "wait":
                return result, verdict.reason
            if time.monotonic() - started >= syncer.config.sync.health_wait_s:
                return result, f"{verdict.reason}; the agent will commit or revert it"
            time.sleep(HEALTH_PERIOD_S)


def _report(
    args: argparse.Namespace, syncer: Syncer, result: CycleResult, health: str | None
) -> int:
    from kiosk.agent.status import kiosk_status

    status = kiosk_status(syncer.config, time.time())
    if args.json:
        body = {
            "ok": True,
            "action": result.action,
            "message": result.message,
            "health": health,
            "bytes": result.bytes,
            "blobs": result.blobs,
            "peer_bytes": result.peer_bytes,
            "installed": status["installed"],
            "previous": status["previous"],
            "pending": status["pending"],
            "stale": status["stale"],
        }
        print(json.dumps(body, ensure_ascii=False))
    else:
        print(result.message)
        if health:
            print(health)
    return 0


def _fail_json(args: argparse.Namespace, exc: Exception) -> None:
    if getattr(args, "json", False):
        code = getattr(exc, "code", "error")
        print(json.dumps({"ok": False, "code": code, "message": str(exc)}, ensure_ascii=False))


def _sync(args: argparse.Namespace) -> int:
    from kiosk.agent.sync import Syncer
    from kiosk.protocol.errors import BgkError

    config = _load(args)
    syncer = Syncer(config, _root(config), _deps(config, _http(config), config.server.url))
    try:
        result, health = _once(syncer, None)
    except BgkError as exc:
        _fail_json(args, exc)
        raise
    return _report(args, syncer, result, health)


def _import(args: argparse.Namespace) -> int:
    from kiosk.agent.errors import ImportTimedOut
    from kiosk.agent.fetch import LocalSource, NotFound
    from kiosk.agent.sync import Syncer
    from kiosk.protocol.errors import BgkError, UsageError

    if not 10 <= args.time_limit <= 86400:
        raise UsageError("--time-limit must be between 10 and 86400 seconds")
    config = _load(args)
    source = LocalSource(args.dir, "local:/", deadline=time.monotonic() + args.time_limit)
    not_export = UsageError(
        f"{args.dir} is not an exported pack (no readable export.json): "
        "make one with `bgk server export PACK -o DIR`"
    )
    try:
        info = json.loads(source.read_small("export.json", 64 * 1024))
        pack = str(info["pack"])
    except (NotFound, ValueError, KeyError, TypeError):
        raise not_export from None
    syncer = Syncer(config, _root(config), _deps(config, source, "local:"))
    # a read the kernel never returns from (a hung stick) is not stopped by the
    # deadline: end the process, which releases the sync lock for the agent
    watchdog = _watchdog(
        args.time_limit + IMPORT_GRACE_S,
        f"reading the USB stick {args.dir} did not finish within {args.time_limit:.0f} s: "
        "gave up (nothing was installed; the kiosk keeps its current pack)",
        ImportTimedOut.exit_code,
    )
    try:
        result, health = _once(syncer, pack)
    except BgkError as exc:
        _fail_json(args, exc)
        raise
    finally:
        watchdog.cancel()
    return _report(args, syncer, result, health)


def _watchdog(after_s: float, message: str, code: int) -> threading.Timer:
    def fire() -> None:
        print(f"bgk: {message}", file=sys.stderr, flush=True)
        os._exit(code)

    timer = threading.Timer(after_s, fire)
    timer.daemon = True
    timer.start()
    return timer


def _status(args: argparse.Namespace) -> int:
    from kiosk.agent.status import kiosk_status, status_text

    status = kiosk_status(_load(args), time.time())
    print(json.dumps(status, ensure_ascii=False, indent=1) if args.json else status_text(status))
    return 0


def _agent(args: argparse.Namespace) -> int:
    import signal
    from dataclasses import replace

    from kiosk.agent.events import LogSink
    from kiosk.agent.fleet import Tee, agent_fleet_link
    from kiosk.agent.service import AgentService
    from kiosk.agent.share import start_sharing
    from kiosk.agent.sync import Syncer

    config = _load(args)
    services: list[AgentService] = []
    fleet = agent_fleet_link(config, lambda: services[0].trigger_sync())
    deps = _deps(config, _http(config), config.server.url)
    if fleet is not None:  # events go to the log and to the fleet link's disk outbox
        deps = replace(deps, events=Tee(LogSink(), fleet))
    sharing = start_sharing(config)  # the gate's kiosks: serve them, fetch from them first
    if sharing is not None:
        deps = replace(deps, share=sharing.client)
    syncer = Syncer(config, _root(config), deps)
    service = AgentService(syncer)
    services.append(service)
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    print(
        f"kiosk agent {config.kiosk.id} running (state in {config.kiosk.state_dir})",
        file=sys.stderr,
    )
    if fleet is not None:
        fleet.start()
    try:
        service.run()
    except KeyboardInterrupt:
        service.stop()
    finally:
        if fleet is not None:
            fleet.stop()
        if sharing is not None:
            sharing.stop()
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from kiosk.agent.doctor import Doctor, Machine, as_json, render

    checks = Doctor(_load(args), Machine(), args.lang, time.time()).run()
    if args.json:
        print(json.dumps(as_json(checks), ensure_ascii=False, indent=1))
    else:
        print(render(checks, args.lang))
    return 0 if as_json(checks)["ok"] else 1
