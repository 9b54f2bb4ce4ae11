"""A border gate in network namespaces, made by a test or bench (issue 17 item 3).

    kiosk namespaces (one per kiosk agent or lying peer), 10.88.0.(10+i)/24
            |  veth
       [ br0 ] 10.88.0.1   gateway namespace: the gate's LAN bridge and router
            |  veth "uplink" 10.88.1.1
            |  uplink, shaped with tc tbf in the server's direction
       server namespace 10.88.1.2: nginx with deploy/nginx/bgk-delivery.conf

Namespaces and links are named with a random tag (several runs on one machine);
addresses are private to the namespaces. Needs root and `ip netns` (CI runs as
root); `netns_problem()` says why not, for a skip.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CLONE_NEWNET = 0x40000000
SERVER_IP = "10.88.1.2"
SERVER_PORT = 8080
SHARE_PORT = 8765
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def netns_problem() -> str | None:
    """None when network namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs these tests as root)"
    name = f"bgchk{secrets.token_hex(3)}"
    try:
        _ip("netns", "add", name)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"`ip netns add` failed here: {getattr(exc, 'stderr', b'')!r}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def in_netns(ns: str, make: Any) -> Any:
    """make() run in a thread that entered namespace `ns` (a socket keeps the
    namespace it was made in)."""
    out: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with open(f"/run/netns/{ns}") as fh:
                if _libc.setns(fh.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
            out.append(make())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return out[0]


class Gate:
    """`members` namespaces on the LAN, the server behind an uplink of `uplink_mbit`."""

    def __init__(self, members: int, uplink_mbit: float) -> None:
        self.tag = secrets.token_hex(2)
        self.members = members
        self.uplink_mbit = uplink_mbit
        self.gw = f"bg{self.tag}gw"
        self.srv = f"bg{self.tag}sv"
        self.names = [f"bg{self.tag}m{i}" for i in range(members)]

    def lan_ip(self, i: int) -> str:
        return f"10.88.0.{10 + i}"

    def share_address(self, i: int) -> str:
        return f"{self.lan_ip(i)}:{SHARE_PORT}"

    def __enter__(self) -> Gate:
        try:
            self._build()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _build(self) -> None:
        for ns in (self.gw, self.srv, *self.names):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", self.gw, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.gw, "addr", "add", "10.88.0.1/24", "dev", "br0")
        _ip("-n", self.gw, "link", "set", "br0", "up")
        for i, ns in enumerate(self.names):
            _ip(
                "-n",
                self.gw,
                "link",
                "add",
                f"v{i}",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            )
            _ip("-n", self.gw, "link", "set", f"v{i}", "master", "br0", "up")
            _ip("-n", ns, "addr", "add", f"{self.lan_ip(i)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "route", "add", "default", "via", "10.88.0.1")
        _ip(
            "-n",
            self.gw,
            "link",
            "add",
            "uplink",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            self.srv,
        )
        _ip("-n", self.gw, "addr", "add", "10.88.1.1/24", "dev", "uplink")
        _ip("-n", self.gw, "link", "set", "uplink", "up")
        _ip("-n", self.srv, "addr", "add", f"{SERVER_IP}/24", "dev", "eth0")
        _ip("-n", self.srv, "link", "set", "eth0", "up")
        _ip("-n", self.srv, "route", "add", "default", "via", "10.88.1.1")
        subprocess.run(
            ["ip", "netns", "exec", self.gw, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True
        )
        # the uplink: what the server sends to the gate goes through a token bucket
        subprocess.run(
            ["ip", "netns", "exec", self.srv, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf",
             "rate", f"{self.uplink_mbit}mbit", "burst", "64kb", "latency", "400ms"],
            check=True, capture_output=True,
        )  # fmt: skip

    def __exit__(self, *exc: object) -> None:
        for ns in (*self.names, self.srv, self.gw):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def uplink_bytes(self) -> int:
        """Bytes the server's side of the uplink has sent to the gate."""
        out = subprocess.run(
            ["ip", "-n", self.srv, "-j", "-s", "link", "show", "eth0"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        return int(json.loads(out)[0]["stats64"]["tx"]["bytes"])

    def popen(self, i: int, cmd: list[str], **kw: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["ip", "netns", "exec", self.names[i], *cmd], **kw)

    def listen(self, i: int, port: int) -> socket.socket:
        return in_netns(  # type: ignore[no-any-return]
            self.names[i], lambda: socket.create_server((self.lan_ip(i), port))
        )

    def reachable(self, host: str, port: int, ns: str | None = None) -> bool:
        """A TCP connection to host:port from namespace `ns` (the gateway's by default)."""

        def probe() -> bool:
            with socket.socket() as s:
                s.settimeout(1.0)
                return s.connect_ex((host, port)) == 0

        return bool(in_netns(ns or self.gw, probe))


class Nginx:
    """nginx in the gate's server namespace, delivering a server data folder."""

    def __init__(self, gate: Gate, data: Path, workdir: Path) -> None:
        self.gate = gate
        workdir.mkdir(parents=True, exist_ok=True)
        snippet = (REPO / "deploy" / "nginx" / "bgk-delivery.conf").read_text()
        (workdir / "delivery.conf").write_text(snippet.replace("/var/lib/bgk-server", str(data)))
        temp = "".join(
            f"{kind}_temp_path {workdir}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (workdir / "nginx.conf").write_text(
            f"user root;\ndaemon off;\nworker_processes 1;\npid {workdir}/nginx.pid;\n"
            f"error_log {workdir}/error.log;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n  access_log {workdir}/access.log;\n  {temp}  sendfile on;\n"
            f"  server {{\n    listen {SERVER_IP}:{SERVER_PORT};\n"
            f"    include {workdir}/delivery.conf;\n  }}\n}}\n"
        )
        self.workdir = workdir
        self.url = f"http://{SERVER_IP}:{SERVER_PORT}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Nginx:
        cmd = ["nginx", "-p", str(self.workdir), "-c", str(self.workdir / "nginx.conf")]
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.gate.srv, *cmd])
        for _ in range(200):
            if self.gate.reachable(SERVER_IP, SERVER_PORT):
                return self
            if self.proc.poll() is not None:
                break
            threading.Event().wait(0.05)
        raise AssertionError(f"nginx did not start: {(self.workdir / 'error.log').read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def blob_bytes(self) -> int:
        """Body bytes of /blobs/ answers in the access log (combined format)."""
        total = 0
        log = self.workdir / "access.log"
        for line in log.read_text().splitlines() if log.exists() else ():
            m = re.search(r'"GET /blobs/\S+ HTTP/[\d.]+" \d+ (\d+)', line)
            if m:
                total += int(m.group(1))
        return total


def write_kiosk(
    folder: Path,
    i: int,
    gate: Gate,
    root: bytes,
    peers: list[str],
    share: bool = True,
    interval_s: int = 3600,
) -> Path:
    """kiosk.toml of kiosk i of the gate (sharing with `peers`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root.json").write_bytes(root)
    text = (
        f'[kiosk]\nid = "k{i}"\ngate = "lao-bao"\nstate_dir = "state"\n\n'
        f'[server]\nurl = "http://{SERVER_IP}:{SERVER_PORT}"\ntrusted_root = "root.json"\n\n'
        f"[sync]\nmin_free_mb = 0\ninterval_s = {interval_s}\ntimeout_s = 10\n\n"
        f"[share]\nenabled = {'true' if share else 'false'}\n"
        f'listen = "{gate.share_address(i)}"\npeers = {json.dumps(peers)}\n'
        "stall_s = 10\nmin_kbps = 2000\n"
    )
    path = folder / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def agent_cmd(config: Path) -> list[str]:
    return [sys.executable, "-m", "kiosk.cli", "kiosk", "agent", "--config", str(config)]


class Repo:
    """A server data folder (keys, TUF repository, blobs) at `tmp`, for nginx to deliver."""

    def __init__(self, tmp: Path) -> None:
        from server.datadir import init_data_dir
        from server.packs.keyfile import PASSPHRASE_ENV, write_passphrase_file
        from server.packs.keys import init_keyset

        tmp.mkdir(parents=True, exist_ok=True)
        if PASSPHRASE_ENV not in os.environ:  # a bench run (the tests' conftest sets one)
            write_passphrase_file(tmp / "passphrase.txt")
            os.environ[PASSPHRASE_ENV] = str(tmp / "passphrase.txt")
        init_keyset(tmp / "keys")
        self.tmp = tmp
        self.config = init_data_dir(
            tmp / "data", tmp / "keys", f"http://{SERVER_IP}:{SERVER_PORT}", _now
        )
        self.data = self.config.data
        #: the TUF root kiosks are enrolled with
        self.root = (self.config.tuf_dir / "1.root.json").read_bytes()

    def publish(self, files: dict[str, bytes], version: int = 1) -> None:
        """`files` published as pack "demo" to the gate lao-bao."""
        from reposim import write_built_pack

        from server.packs.publish import publish_pack
        from server.packs.signing import open_repository

        built = write_built_pack(self.tmp / f"built-{version}", files, "demo", version)
        repo = open_repository(self.config, ("targets",), now=_now)
        publish_pack(repo, self.config.blob_dir, built, ["lao-bao"], _now)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def publish(tmp: Path, files: dict[str, bytes], version: int = 1) -> tuple[Path, bytes]:
    """A server data folder with `files` published; the folder and the TUF root."""
    repo = Repo(tmp)
    repo.publish(files, version)
    return repo.data, repo.root
