"""The agent service loop: first sync at start, trigger_sync() from another
thread, commit by the UI's health, stop()."""

from __future__ import annotations

import threading
from pathlib import Path

from deliverykit import T0, RepoSim, SimKiosk, installed, pack_files, wait_for

from kiosk.agent.service import AgentService
from kiosk.local import Channel, UiHealth


def test_service_syncs_on_start_and_when_triggered(tmp_path: Path) -> None:
    sim = RepoSim()
    sim.add_pack(pack_files("v1"), version=1)
    kiosk = SimKiosk(tmp_path / "k", sim, sim.root_v1, T0.timestamp() + 60, interval_s=86400)
    service = AgentService(kiosk.syncer)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: kiosk.status()["installed"] is not None, "the first install")
        assert installed(kiosk.state_dir) == ("demo", 1)
        sim.add_pack(pack_files("v2"), version=2)
        service.trigger_sync()  # what an MQTT announcement does; the interval is a day
        wait_for(lambda: kiosk.status()["installed"]["version"] == 2, "the triggered install")
        assert installed(kiosk.state_dir) == ("demo", 2)
        assert service.status()["previous"]["version"] == 1
    finally:
        service.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_service_commits_when_the_ui_shows_the_new_pack(tmp_path: Path) -> None:
    sim = RepoSim()
    sim.add_pack(pack_files("v1"), version=1)
    kiosk = SimKiosk(tmp_path / "k", sim, sim.root_v1, T0.timestamp() + 60, interval_s=86400)
    kiosk.sync()
    channel = Channel(kiosk.state_dir)
    channel.write_health(UiHealth(kiosk.clock, 10, "demo", 1, "home", None, None))
    sim.add_pack(pack_files("v2"), version=2)
    service = AgentService(kiosk.syncer)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: kiosk.status()["pending"] is not None, "the switch to v2")
        assert kiosk.status()["installed"]["version"] == 1  # not committed yet
        # the UI notices the switch and shows the new pack
        channel.write_health(UiHealth(kiosk.clock, 10, "demo", 2, "home", None, None))
        service.trigger_sync()

        # the commit event comes after the state is saved: wait for the event itself
        def commits() -> list[str]:
            return [e.message for e in kiosk.events.events if e.kind == "commit"]

        wait_for(lambda: "the screen shows demo v2" in (commits() or [""])[-1], "the commit")
        status = kiosk.status()
        assert status["installed"]["version"] == 2 and status["previous"]["version"] == 1
        assert status["pending"] is None
    finally:
        service.stop()
        thread.join(timeout=10)
