"""Soak and chaos: the whole system for --minutes through a schedule of faults,
then invariants checked from independent records. Run as root (network
namespaces, a tmpfs, PostgreSQL run as `postgres`):

    .venv/bin/python bench/soak.py [--minutes 30] [--kiosks 2000] [--partition-s 300]

What runs (everything on this machine, loopback addresses only):
  PostgreSQL      a cluster of its own on a free port (it gets restarted)
  Mosquitto       the generated config: TLS for kiosks, ACL, passwords
  2 x `bgk server run` (--client 1 and 3) and 1 x `bgk server ingest`
                  ([mqtt] share = true), behind nginx with the project's
                  site and delivery configs (an upstream of both servers)
  simulated kiosks  one process per gate (4 gates), each in the gate's own
                  network namespace (bench/soakfleet.py)
  3 real kiosk agents, each in its own namespace (bench/soak_agent.py), on
                  links of 600 ms latency, 10 % segment loss, 256 kbit/s
The faults (bench/soakfaults.py), each while a new pack version is published
and a notice sent to every kiosk: Mosquitto kill -9 + restart; each server
process and the ingest kill -9 + restart; PostgreSQL stopped at once (crash
recovery) + restart; a kiosk's disk filled; a kiosk's clock stepped +2 h then
-2 h (and 20 simulated kiosks'); one gate cut off for --partition-s; every
simulated kiosk reconnecting at once (retained births, a burst as large as
the simulated fleet). Near the end 1 % of the simulated kiosks lose power for
good. The checker (bench/soakcheck.py) prints the table; exit status 1 when
an invariant fails.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from install import write_pack
from soakfaults import (
    Fault,
    Schedule,
    broker_kill,
    burst,
    clock_step,
    disk_full,
    ingest_kill,
    partition,
    postgres_restart,
    save,
    server_kill,
)
from soaknet import Impairment, Link, LinkProc, in_ns, netns_add, netns_del, rss_kib
from soakworld import (
    PY,
    REPO,
    Postgres,
    Proc,
    free_port,
    healthy,
    ingest_proc,
    server_proc,
    start_nginx,
    wait,
    write_json,
)  # fmt: skip

from server.broker.local import LocalBroker
from server.broker.pki import FleetKeys
from server.config import load_server_config
from server.datadir import init_data_dir
from server.fleet.enroll import enroll_kiosk
from server.packs.keyfile import PASSPHRASE_ENV, write_passphrase_file
from server.packs.keys import init_keyset
from server.packs.signing import utcnow
from server.sim.cli import SIM_GATES, enrol_sim_kiosks
from server.store import open_store
from server.web import accounts

#: libfaketime steps a real agent's clock (Debian: faketime)
FAKETIME_LIB = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), "")
IMPAIRMENTS = [
    Impairment(delay_s=0.6),
    Impairment(loss=0.10),
    Impairment(rate_bps=256_000 / 8),
]


@dataclass
class Agent:
    id: str
    gate: str
    ns: str
    state: Path
    faketime: Path
    journal: Path
    link: Link
    proc: Proc


class Soak:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        self.t0 = time.monotonic()
        (tmp / "logs").mkdir()
        (tmp / "journal").mkdir()
        self.gates = list(SIM_GATES)
        self.clock_sims = 20
        self.version = 0
        self.publications: list[dict[str, Any]] = []
        self.notices: list[dict[str, Any]] = []
        self.probes: list[tuple[float, str, int, float]] = []
        self.memory: list[tuple[float, str, int, int]] = []
        self._stop = threading.Event()
        self._control_n = 0
        #: monotonic times: warm-up over (memory baselines), run over
        self.warm = self.end = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    # --- set-up -----------------------------------------------------------------------
    def setup(self) -> None:
        tmp = self.tmp
        self.pg = Postgres(tmp)
        self.pg.start()
        self.pg.create_db()
        nginx_port = free_port()
        os.environ[PASSPHRASE_ENV] = str(tmp / "passphrase.txt")
        init_keyset(tmp / "keys", write_passphrase_file(tmp / "passphrase.txt"))
        self.cfg = init_data_dir(
            tmp / "data", tmp / "keys", f"http://127.0.0.1:{nginx_port}", utcnow
        )
        self.data = self.cfg.data
        self.store = open_store(self.pg.url)
        self.broker = LocalBroker.create(
            self.store, FleetKeys(self.data / "mqtt"), tmp / "broker", tls=True, server_clients=6
        )
        self.broker.start()
        with (self.data / "server.toml").open("a") as fh:
            fh.write(
                f'\n[store]\nurl = "{self.pg.url}"\n\n[mqtt]\nurl = "{self.broker.url}"\n'
                f'kiosk_url = "{self.broker.tls_url}"\nbroker_dir = "{tmp / "broker"}"\n'
                "share = true\nserver_clients = 6\n\n[fleet]\nheartbeat_s = 30\n"
                "will_delay_s = 30\nkeepalive_s = 30\n"
                "announce_jitter_s = 5\n"  # the soak's convergence figures: as before the setting
            )
        self.cfg = load_server_config(self.data)
        print(f"enrolling {self.args.kiosks} simulated kiosks ...", flush=True)
        enrol_sim_kiosks(self.data, self.store, self.args.kiosks, "sim", time.time())
        self.agents = [self._enrol_agent(i) for i in range(3)]
        self.broker.reload()
        self.publish()  # version 1 before anyone starts
        self.servers = [(server_proc(tmp, self.data, c, free_port()), 0) for c in (1, 3)]
        self.servers = [
            (p, int(p.argv[p.argv.index("--http") + 1].split(":")[1])) for p, _ in self.servers
        ]
        self.ingest = ingest_proc(tmp, self.data, 5)
        for proc, port in self.servers:
            proc.start()
            wait(lambda port=port: healthy(port), 120, f"{proc.name}")
        self.ingest.start()
        self.nginx = start_nginx(tmp, self.data, [p for _, p in self.servers], nginx_port)
        self.url = self.nginx.url
        now = time.time()
        accounts.add_user(self.store, "soak-pub", "publisher", "soak-password-1", now=now)
        accounts.add_user(self.store, "soak-view", "viewer", "soak-password-2", now=now)
        self.token = accounts.create_token(self.store, "soak-pub", now=now)
        user = accounts.User("soak-view", "viewer")
        self.cookie, _ = accounts.start_session(self.store, user, now=now)
        self._start_gates()
        for agent in self.agents:
            agent.proc.start()

    def _enrol_agent(self, i: int) -> Agent:
        kid, gate, ns = f"kiosk-{i + 1}", self.gates[i], f"bgk-soak-k{i + 1}"
        state = self.tmp / "kiosks" / kid
        state.mkdir(parents=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(state)], check=True)
        bundle = self.tmp / "bundles" / kid
        enroll_kiosk(
            self.cfg, kid, gate, (), bundle, time.time(), state_dir=str(state), replace=True
        )
        toml = bundle / "kiosk.toml"
        toml.write_text(
            toml.read_text() + "\n[sync]\ninterval_s = 60\nmin_free_mb = 0\ntimeout_s = 20\n"
        )
        netns_add(ns)
        ports = [int(self.cfg.url.rsplit(":", 1)[1]), self.broker.layout.tls_port or 0]
        link = Link(ns, ports, IMPAIRMENTS[i])
        faketime = self.tmp / f"faketime-{kid}"
        faketime.write_text("+0\n")
        journal = self.tmp / "journal" / f"{kid}.jsonl"
        env = ["env", f"LD_PRELOAD={FAKETIME_LIB}", f"FAKETIME_TIMESTAMP_FILE={faketime}",
               "FAKETIME_DONT_FAKE_MONOTONIC=1", "FAKETIME_CACHE_DURATION=1"]  # fmt: skip
        argv = in_ns(ns, [*env, PY, str(REPO / "bench" / "soak_agent.py"), "--config", str(toml),
                          "--journal", str(journal)])  # fmt: skip
        return Agent(kid, gate, ns, state, faketime, journal, link, Proc(kid, argv, self.tmp))

    def _start_gates(self) -> None:
        ports = [int(self.cfg.url.rsplit(":", 1)[1]), self.broker.layout.tls_port or 0]
        self.gate_links: list[LinkProc] = []
        self.sims: list[Proc] = []
        ids = [f"sim-{i:05d}" for i in range(1, self.args.kiosks + 1)]
        for g, gate in enumerate(self.gates):
            ns = f"bgk-soak-g{g}"
            netns_add(ns)
            self.gate_links.append(LinkProc(ns, ports, self.tmp / "logs" / f"link-{gate}.log"))
            spec = {
                "gate": gate, "kiosks": [k for i, k in enumerate(ids, 1) if i % 4 == g],
                "credentials": str(self.data / "sim" / "credentials.json"),
                "mqtt": self.broker.tls_url, "ca": str(self.data / "mqtt" / "ca.crt"),
                "http": self.cfg.url, "root": str(self.data / "tuf" / "1.root.json"),
                "tuf_cache": str(self.tmp / f"simcache-{g}"), "period_s": 30, "will_delay_s": 10,
                "keepalive_s": 30, "journal": str(self.tmp / "journal" / f"sim-{gate}.jsonl"),
                "control": str(self.tmp / f"control-{g}.json"), "figures": str(self.tmp / f"sim-{g}.json"),
                "workers": 3, "seed": g, "pack": "soak", "ramp_per_s": 100,
            }  # fmt: skip
            spec_path = self.tmp / f"sim-{g}.spec.json"
            spec_path.write_text(json.dumps(spec))
            argv = in_ns(ns, [PY, str(REPO / "bench" / "soakfleet.py"), "--spec", str(spec_path)])
            proc = Proc(f"sim-{gate}", argv, self.tmp)
            proc.start()
            self.sims.append(proc)

    # --- actions the faults use ------------------------------------------------------
    def sim_control(self, gate: int, cmd: dict[str, Any]) -> None:
        self._control_n += 1
        write_json(self.tmp / f"control-{gate}.json", {**cmd, "n": self._control_n})

    def publish(self) -> int:
        self.version += 1
        files = {"i18n/vi.json": b'{"soak": true}\n'}
        rng = random.Random(7)
        for i in range(4):
            files[f"media/fixed-{i}.bin"] = rng.randbytes(10_000)
        files["media/changing.bin"] = random.Random(self.version).randbytes(8_000)
        folder = self.tmp / "packs" / f"v{self.version}"
        write_pack(folder, files, self.version)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["id"] = "soak"
        (folder / "manifest.json").write_text(json.dumps(manifest))
        out = subprocess.run(
            [PY, "-m", "kiosk.cli", "server", "publish", str(folder), "--data", str(self.data),
             "--to", "all", "--keys", str(self.tmp / "keys"), "--json"],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if out.returncode != 0:
            raise SystemExit(f"soak: publishing v{self.version} failed: {out.stderr}")
        sha = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
        self.publications.append({"t": time.monotonic(), "version": self.version, "sha256": sha})
        return self.version

    def notice(self, why: str) -> None:
        body = {
            "text": {"vi": f"Kiểm thử: {why}", "en": f"Soak: {why}"},
            "to": ["all"],
            "minutes": 5,
        }
        t = time.monotonic()
        try:
            r = requests.post(f"{self.url}/api/v1/notices", json=body, timeout=120,
                              headers={"Authorization": f"Bearer {self.token}"})  # fmt: skip
            self.notices.append({"t": t, "status": r.status_code, "s": time.monotonic() - t,
                                 "commands": len(r.json().get("commands", []))})  # fmt: skip
        except (requests.RequestException, ValueError) as exc:
            self.notices.append({"t": time.monotonic(), "status": -1, "error": str(exc)[:200]})

    # --- measuring ------------------------------------------------------------------------
    def probe_loop(self) -> None:
        session = requests.Session()
        session.trust_env = False
        bearer = {"Authorization": f"Bearer {self.token}"}
        kinds: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
            ("dashboard", "/", {}, {"bgk_session": self.cookie}),
            ("api kiosk", "/api/v1/kiosks/kiosk-1", bearer, {}),
            ("api alerts", "/api/v1/alerts", bearer, {}),
            ("tuf", "/tuf/timestamp.json", {}, {}),
        ]
        i = 0
        while not self._stop.wait(0.5):
            name, path, headers, cookies = kinds[i % len(kinds)]
            i += 1
            t = time.monotonic()
            try:
                got = session.get(self.url + path, headers=headers, cookies=cookies, timeout=10)
                status = got.status_code
            except requests.RequestException:
                status = -1
            self.probes.append((t, name, status, time.monotonic() - t))

    def memory_loop(self) -> None:
        while not self._stop.wait(10):
            procs: list[tuple[str, Any]] = [
                ("mosquitto", self.broker.proc),
                ("ingest", self.ingest.proc),
            ]
            procs += [(p.name, p.proc) for p, _ in self.servers]
            procs += [(a.id, a.proc.proc) for a in self.agents] + [
                (p.name, p.proc) for p in self.sims
            ]
            t = time.monotonic()
            for name, proc in procs:
                if proc is not None and proc.poll() is None:
                    self.memory.append((t, name, proc.pid, rss_kib(proc.pid)))

    def fleet_view(self) -> list[dict[str, Any]]:
        r = requests.get(f"{self.url}/api/v1/kiosks", timeout=60,
                         headers={"Authorization": f"Bearer {self.token}"})  # fmt: skip
        r.raise_for_status()
        result: list[dict[str, Any]] = r.json()
        return result

    # --- shutting down --------------------------------------------------------------------
    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        #: processes that ended before the soak asked them to (a crash: see logs/)
        self.died = [p.name for p in [*getattr(self, "sims", []), *(a.proc for a in getattr(self, "agents", []))]
                     if p.proc is not None and p.proc.poll() is not None]  # fmt: skip
        for g in range(len(self.gates)):
            self.sim_control(g, {"op": "stop"})
        for proc in getattr(self, "sims", []):
            with contextlib.suppress(Exception):
                proc.proc.wait(60) if proc.proc else None
            proc.stop()
        for agent in getattr(self, "agents", []):
            agent.proc.stop()
        time.sleep(5)  # the last messages into the store
        for proc, _ in getattr(self, "servers", []):
            proc.stop()
        if hasattr(self, "ingest"):
            self.ingest.stop()


def teardown(soak: Soak) -> None:
    for link in [*getattr(soak, "gate_links", []), *(a.link for a in getattr(soak, "agents", []))]:
        link.close()
    for g in range(len(soak.gates)):
        netns_del(f"bgk-soak-g{g}")
    for i in range(3):
        netns_del(f"bgk-soak-k{i + 1}")
    for agent in getattr(soak, "agents", []):
        subprocess.run(["umount", "-l", str(agent.state)], capture_output=True)
    if hasattr(soak, "nginx"):
        soak.nginx.stop()
    if hasattr(soak, "broker"):
        soak.broker.stop()
    if hasattr(soak, "store"):
        soak.store.dispose()
    if hasattr(soak, "pg"):
        soak.pg.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--kiosks", type=int, default=2000)
    parser.add_argument("--partition-s", type=float, default=300, help="the gate partition (300)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, journals)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("soak: run as root (network namespaces, tmpfs, PostgreSQL as postgres)")
    if not FAKETIME_LIB:
        raise SystemExit("soak: libfaketime is missing: apt-get install faketime")
    # file descriptors: Mosquitto (started from here) holds every kiosk's connection
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from soakcheck import check

    tmp = Path(tempfile.mkdtemp(prefix="bgk-soak-"))
    tmp.chmod(0o755)
    print(f"soak: {args.kiosks} simulated + 3 real kiosks, {args.minutes:g} min; work folder {tmp}")
    print(
        f"load average before: {Path('/proc/loadavg').read_text().split()[:3]} (2 cores)",
        flush=True,
    )
    soak = Soak(args, tmp)
    status = 1
    try:
        soak.setup()
        threading.Thread(target=soak.probe_loop, daemon=True).start()
        threading.Thread(target=soak.memory_loop, daemon=True).start()
        faults, view = run_schedule(soak)
        soak.close()
        status = check(soak, faults, view)
    finally:
        try:
            soak.close()
        finally:
            teardown(soak)
        if not args.keep and status == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"work folder kept: {tmp}")
    return status


def run_schedule(soak: Soak) -> tuple[list[Fault], list[dict[str, Any]]]:
    args = soak.args
    total = args.minutes * 60
    warmup, tail = min(120.0, total * 0.15), min(180.0, total * 0.2)
    partition_s = min(args.partition_s, total * 0.2)  # 300 s fits a 30-min run
    hold = max(10.0, min(60.0, total / 40))
    all_ = "all"
    faults = [
        (Fault("Mosquitto kill -9, restart", all_), broker_kill),
        (Fault("server 1 kill -9, restart", all_), server_kill(0)),
        (Fault("server 2 kill -9, restart", all_), server_kill(1)),
        (Fault("ingest kill -9, restart", all_), ingest_kill),
        (Fault("PostgreSQL crash-stop, restart", all_), postgres_restart),
        (Fault("disk full (kiosk-3)", ["kiosk-3"]), disk_full(hold * 1.5)),
        (Fault("clock +2 h, -2 h (kiosk-1, 20 sim)", ["kiosk-1"]), clock_step(hold)),
        (Fault(f"partition {soak.gates[0]} {partition_s:.0f} s", soak.gates[0]), partition(partition_s)),
        (Fault("reconnect burst (all simulated)", all_), burst),
    ]  # fmt: skip
    slot = (total - soak.elapsed() - warmup - tail - partition_s) / len(faults)
    print(f"[{soak.elapsed():6.0f} s] set up; warm-up {warmup:.0f} s", flush=True)
    time.sleep(warmup)
    soak.warm = time.monotonic()
    schedule = Schedule(soak, faults)
    schedule.run(max(slot, 20.0))
    save(schedule.done, soak.tmp / "faults.json")
    print(f"[{soak.elapsed():6.0f} s] tail: 1 % of the simulated kiosks lose power", flush=True)
    for g in range(len(soak.gates)):
        soak.sim_control(g, {"op": "die", "count": max(1, args.kiosks // 400)})
    time.sleep(max(30.0, total - soak.elapsed()))
    view = soak.fleet_view()
    soak.end = time.monotonic()
    return schedule.done, view


if __name__ == "__main__":
    sys.exit(main())
