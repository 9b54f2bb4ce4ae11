"""The soak's network: one network namespace per gate and per real kiosk, and a
link from each into the host's loopback that the soak can impair or cut.

Inside a namespace there is only its own loopback: a kiosk there dials
127.0.0.1:<port> / localhost:<port>, the ports of the host's nginx and
Mosquitto. A `Link` (one epoll thread in the soak's process) listens on those
ports *inside* the namespace (its listening sockets are made after setns(2)
in a helper thread: a socket keeps the namespace it was made in) and relays
each connection to the same port on the host's loopback. No address outside
127.0.0.0/8 is used anywhere.

This machine's `tc` has no netem, so the impairments are the link's:
  delay_s   one-way latency added to every segment, each direction
  loss      the share of 1448-byte segments "lost": delivered one
            retransmission timeout (max(1 s, 2 x delay)) late, with the
            head-of-line blocking that TCP shows under loss
  rate_bps  a token bucket per direction (bytes/s)
  cut()     a partition: nothing passes, new connections are accepted and
            never answered; heal() drops whatever lived through it
"""

from __future__ import annotations

import contextlib
import ctypes
import heapq
import random
import select
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNET = 0x40000000
SEGMENT = 1448
_libc = ctypes.CDLL(None, use_errno=True)


def netns_add(name: str) -> None:
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)


def netns_del(name: str) -> None:
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def listeners_in(ns: str, ports: list[int]) -> list[socket.socket]:
    """Listening sockets on 127.0.0.1:<port> inside namespace `ns`."""
    out: list[socket.socket] = []
    errors: list[BaseException] = []

    def make() -> None:
        try:
            with open(f"/run/netns/{ns}") as fh:
                if _libc.setns(fh.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
            for port in ports:
                sock = socket.create_server(("127.0.0.1", port), backlog=4096)
                sock.setblocking(False)
                out.append(sock)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=make)  # setns changes this thread only
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return out


@dataclass
class Impairment:
    delay_s: float = 0.0
    loss: float = 0.0
    rate_bps: float = 0.0

    def describe(self) -> str:
        parts = []
        if self.delay_s:
            parts.append(f"{self.delay_s * 1000:.0f} ms")
        if self.loss:
            parts.append(f"{self.loss:.0%} loss")
        if self.rate_bps:
            parts.append(f"{self.rate_bps * 8 / 1000:.0f} kbit/s")
        return ", ".join(parts) or "clean"


@dataclass
class _Side:
    sock: socket.socket
    #: bytes waiting to go out on this socket: (due monotonic, data)
    out: deque[tuple[float, bytes]] = field(default_factory=deque)
    closed: bool = False


@dataclass
class _Pair:
    down: _Side  # the kiosk's side (inside the namespace)
    up: _Side | None  # the host service
    #: when the last byte queued in each direction is delivered (ordering, rate)
    free_at: dict[str, float] = field(default_factory=lambda: {"up": 0.0, "down": 0.0})
    held: bool = False


class Link:
    """Relays 127.0.0.1:<port> inside namespace `ns` to 127.0.0.1:<port> on the host."""

    def __init__(self, ns: str, ports: list[int], impair: Impairment | None = None) -> None:
        self.ns = ns
        self.impair = impair or Impairment()
        self.rng = random.Random(hash(ns) & 0xFFFF)
        self.cut_now = False
        self.ep = select.epoll()
        self.listeners = {s.fileno(): s for s in listeners_in(ns, ports)}
        for fd in self.listeners:
            self.ep.register(fd, select.EPOLLIN)
        self.sides: dict[int, tuple[_Pair, str]] = {}
        self.pairs: set[int] = set()
        self._timers: list[tuple[float, int]] = []
        self._stop = False
        self.bytes = 0
        self.thread = threading.Thread(target=self._loop, name=f"link-{ns}", daemon=True)
        self.thread.start()

    # --- control (any thread) -----------------------------------------------------
    def cut(self) -> None:
        self.cut_now = True

    def heal(self) -> None:
        self.cut_now = False
        self._heal = True

    def close(self) -> None:
        self._stop = True
        self.thread.join(5)

    # --- the loop -------------------------------------------------------------------
    _heal = False

    def _loop(self) -> None:
        while not self._stop:
            timeout = 0.2
            if self._timers:
                timeout = max(0.0, min(timeout, self._timers[0][0] - time.monotonic()))
            for fd, mask in self.ep.poll(timeout):
                if fd in self.listeners:
                    self._accept(self.listeners[fd])
                elif fd in self.sides:
                    self._event(fd, mask)
            if self._heal:
                self._heal = False
                for pair in list({id(p): p for p, _ in self.sides.values()}.values()):
                    self._close_pair(pair)
            self._due()
        for pair in list({id(p): p for p, _ in self.sides.values()}.values()):
            self._close_pair(pair)
        for sock in self.listeners.values():
            sock.close()
        self.ep.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, OSError):
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(_Side(conn), None)
            port = listener.getsockname()[1]
            if self.cut_now:
                pair.held = True  # accepted, never answered
            else:
                try:
                    up = socket.create_connection(("127.0.0.1", port), timeout=10)
                except OSError:
                    conn.close()
                    continue
                up.setblocking(False)
                up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                pair.up = _Side(up)
                self.sides[up.fileno()] = (pair, "up")
                self.ep.register(up.fileno(), select.EPOLLIN)
            self.sides[conn.fileno()] = (pair, "down")
            self.ep.register(conn.fileno(), select.EPOLLIN)

    def _event(self, fd: int, mask: int) -> None:
        pair, which = self.sides[fd]
        side = pair.down if which == "down" else pair.up
        assert side is not None
        if mask & select.EPOLLOUT:
            self._write(pair, side)
        if not mask & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
            return
        if pair.held or self.cut_now:
            pair.held = True
            with contextlib.suppress(OSError):
                self.ep.modify(fd, 0)  # stop reading: the bytes pile up, unanswered
            return
        try:
            data = side.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_pair(pair)
            return
        other = pair.up if which == "down" else pair.down
        if other is not None:
            self._queue(pair, other, "up" if which == "down" else "down", data)

    def _queue(self, pair: _Pair, dest: _Side, direction: str, data: bytes) -> None:
        imp = self.impair
        now = time.monotonic()
        at = max(pair.free_at[direction], now)
        rto = max(1.0, 2 * imp.delay_s)
        for i in range(0, len(data), SEGMENT):
            chunk = data[i : i + SEGMENT]
            if imp.rate_bps:
                at += len(chunk) / imp.rate_bps
            if imp.loss and self.rng.random() < imp.loss:
                at += rto
            due = at + imp.delay_s
            dest.out.append((due, chunk))
        pair.free_at[direction] = at
        self.bytes += len(data)
        heapq.heappush(self._timers, (dest.out[0][0], dest.sock.fileno()))
        self._write(pair, dest)

    def _due(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, fd = heapq.heappop(self._timers)
            entry = self.sides.get(fd)
            if entry is None:
                continue
            pair, which = entry
            side = pair.down if which == "down" else pair.up
            if side is not None:
                self._write(pair, side)

    def _write(self, pair: _Pair, side: _Side) -> None:
        if pair.held or self.cut_now:
            return
        now = time.monotonic()
        while side.out and side.out[0][0] <= now:
            due, chunk = side.out[0]
            try:
                sent = side.sock.send(chunk)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._close_pair(pair)
                return
            if sent < len(chunk):
                side.out[0] = (due, chunk[sent:])
                with contextlib.suppress(OSError):
                    self.ep.modify(side.sock.fileno(), select.EPOLLIN | select.EPOLLOUT)
                return
            side.out.popleft()
        with contextlib.suppress(OSError):
            self.ep.modify(side.sock.fileno(), select.EPOLLIN)
        if side.out:
            heapq.heappush(self._timers, (side.out[0][0], side.sock.fileno()))

    def _close_pair(self, pair: _Pair) -> None:
        for side in (pair.down, pair.up):
            if side is None or side.closed:
                continue
            side.closed = True
            fd = side.sock.fileno()
            self.sides.pop(fd, None)
            with contextlib.suppress(OSError, ValueError):
                self.ep.unregister(fd)
            with contextlib.suppress(OSError):
                side.sock.close()


def in_ns(ns: str, argv: list[str]) -> list[str]:
    """argv run inside namespace `ns`."""
    return ["ip", "netns", "exec", ns, *argv]


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` (`ip netns exec` execs the command: the same pid)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class LinkProc:
    """A Link in a process of its own (a gate's thousands of connections need two
    file descriptors each): SIGUSR1 cuts it, SIGUSR2 heals it, SIGTERM ends it."""

    def __init__(self, ns: str, ports: list[int], log: Path) -> None:
        import sys

        argv = [sys.executable, __file__, "--ns", ns, "--ports", ",".join(map(str, ports))]
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=out)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            raise SystemExit(f"soak: the link of {ns} did not start (see {log})")

    def cut(self) -> None:
        self.proc.send_signal(signal.SIGUSR1)

    def heal(self) -> None:
        self.proc.send_signal(signal.SIGUSR2)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def main() -> int:
    import argparse
    import resource

    parser = argparse.ArgumentParser(description="one link of bench/soak.py (see LinkProc)")
    parser.add_argument("--ns", required=True)
    parser.add_argument("--ports", required=True)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    link = Link(args.ns, [int(p) for p in args.ports.split(",")])
    done = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: link.cut())
    signal.signal(signal.SIGUSR2, lambda *_: link.heal())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    while not done.wait(1.0):
        pass
    link.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
