"""Commands from the server: verified, run at most once, acknowledged.

A command (bgk/v1/kiosk/{id}/cmd) is run only if
  - its Ed25519 signature verifies with the command key of the enrolment
    bundle ([mqtt] command_key) over kiosk.protocol's signing bytes,
  - it names this kiosk,
  - it has not expired (`exp`, against the clock raised to the time floor,
    with CLOCK_GRACE_S for a clock a little ahead; the broker also drops it
    once its MQTT message expiry passes),
  - its cmd_id was never seen (the ledger in the outbox database).
The ledger entry and the `accepted` ack are written in one transaction
before the command runs, so a power cut in the middle never runs it twice.
Refusals are acknowledged as `failed` with the reason.

    reboot      ack done, wait for the outbox to drain, then reboot
    resync      start a sync cycle now (the result arrives as events)
    screenshot  ask the UI (kiosk.local request), scale its PNG to a JPEG,
                publish it on bgk/v1/kiosk/{id}/screenshot
    notice      write the urgent notice the UI shows (empty text clears it), wait
                up to NOTICE_WAIT_S for the UI to say it is on screen, and ack
                with the UI's count of characters no font drew, per language
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from kiosk.agent.outbox import Outbox
from kiosk.local import HEALTH_STALE_S, Channel, Notice
from kiosk.protocol.errors import BgkError, UsageError
from kiosk.protocol.payloads import (
    Command,
    CommandAck,
    NoticeArgs,
    PayloadError,
    ScreenshotArgs,
    ScreenshotHeader,
    command_args,
    command_signing_bytes,
    encode_screenshot,
    parse_command,
)

log = logging.getLogger("bgk.agent.remote")

#: a kiosk clock this far ahead of the server still accepts a fresh command
CLOCK_GRACE_S = 120.0
#: how long the UI has to save a screenshot
SCREENSHOT_WAIT_S = 15.0
#: how long the UI has to put a notice on screen (it looks every second)
NOTICE_WAIT_S = 6.0


class CommandRefused(BgkError):
    """A command that must not run (bad signature, other kiosk, expired, seen)."""


def load_command_key(path: Path | None) -> Ed25519PublicKey | None:
    if path is None:
        return None
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot read the command key {path}: {exc}; copy the enrolment bundle again"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{path} is not an Ed25519 public key: copy the enrolment bundle again")
    return key


def verify(cmd: Command, key: Ed25519PublicKey | None, kiosk_id: str, now: float) -> None:
    """Raise CommandRefused unless `cmd` may run here and now."""
    if key is None:
        raise CommandRefused("this kiosk has no command key: re-enrol it to accept commands")
    try:
        key.verify(base64.b64decode(cmd.sig, validate=True), command_signing_bytes(cmd))
    except (InvalidSignature, ValueError):
        raise CommandRefused("bad signature: not signed by this fleet's server") from None
    if cmd.kiosk != kiosk_id:
        raise CommandRefused(f"the command is for kiosk {cmd.kiosk}, not {kiosk_id}")
    if now > cmd.exp + CLOCK_GRACE_S:
        raise CommandRefused("expired before it arrived")


#: the id of a withdrawal (notice with no text) that clears whatever notice is shown
CLEAR_ANY = "all"


@dataclass
class Actions:
    """What commands do to the machine; injected (tests, the simulator of reboots)."""

    trigger_sync: Callable[[], None]
    #: called after the done-ack left the outbox (or a few seconds passed)
    reboot: Callable[[], None]
    #: publish a screenshot payload (QoS 1) on this kiosk's screenshot topic
    publish_screenshot: Callable[[bytes], None]
    #: wait until the outbox is empty, at most this long
    drain: Callable[[float], None]


class CommandRunner:
    def __init__(
        self,
        kiosk_id: str,
        key: Ed25519PublicKey | None,
        outbox: Outbox,
        channel: Channel,
        actions: Actions,
        *,
        clock: Callable[[], float] = time.time,
        time_floor: Callable[[], float] = lambda: 0.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kiosk_id, self.key, self.outbox, self.channel = kiosk_id, key, outbox, channel
        self.actions = actions
        self.clock, self.time_floor = clock, time_floor
        self.monotonic, self.sleep = monotonic, sleep
        self.screenshot_wait_s = SCREENSHOT_WAIT_S
        self.notice_wait_s = NOTICE_WAIT_S

    def now(self) -> float:
        return max(self.clock(), self.time_floor())

    def _ack(
        self, cmd_id: str, state: str, reason: str | None, missing: dict[str, int] | None = None
    ) -> bytes:
        ack = CommandAck(
            cmd_id=cmd_id,
            state=state,  # type: ignore[arg-type]
            reason=reason,
            ts=self.now(),
            missing_glyphs=missing,  # type: ignore[arg-type]
        )
        return ack.to_bytes()

    def handle(self, payload: bytes) -> str:
        """Check and run one command message; returns what happened (for logs and tests)."""
        try:
            cmd = parse_command(payload)
        except PayloadError as exc:
            log.warning("dropped a malformed command: %s", exc)
            return "malformed"
        now = self.now()
        if self.outbox.seen(cmd.cmd_id) is not None:
            log.info("command %s seen before: not run again", cmd.cmd_id)
            return "duplicate"
        try:
            verify(cmd, self.key, self.kiosk_id, now)
            args = command_args(cmd)
        except (CommandRefused, PayloadError) as exc:
            log.warning("refused command %s (%s): %s", cmd.cmd_id, cmd.op, exc)
            self.outbox.accept(
                cmd.cmd_id, cmd.exp, "failed", self._ack(cmd.cmd_id, "failed", str(exc)), now
            )
            return "refused"
        if not self.outbox.accept(
            cmd.cmd_id, cmd.exp, "accepted", self._ack(cmd.cmd_id, "accepted", None), now
        ):
            return "duplicate"
        log.info("running command %s: %s", cmd.cmd_id, cmd.op)
        try:
            reason, missing = self._run(cmd, args)
        except BgkError as exc:
            self.outbox.finish(
                cmd.cmd_id, "failed", self._ack(cmd.cmd_id, "failed", str(exc)), self.now()
            )
            return "failed"
        except Exception as exc:  # a command must never take the agent down
            log.exception("command %s failed", cmd.cmd_id)
            self.outbox.finish(
                cmd.cmd_id, "failed", self._ack(cmd.cmd_id, "failed", repr(exc)[:400]), self.now()
            )
            return "failed"
        if cmd.op != "reboot":
            self.outbox.finish(
                cmd.cmd_id, "done", self._ack(cmd.cmd_id, "done", reason, missing), self.now()
            )
        return "done"

    def _run(
        self, cmd: Command, args: NoticeArgs | ScreenshotArgs | None
    ) -> tuple[str, dict[str, int] | None]:
        if cmd.op == "resync":
            self.actions.trigger_sync()
            return "sync started", None
        if cmd.op == "notice":
            assert isinstance(args, NoticeArgs)
            return self.notice(args)
        if cmd.op == "screenshot":
            assert isinstance(args, ScreenshotArgs)
            self.actions.publish_screenshot(self.screenshot(cmd.cmd_id, args))
            return "screenshot sent", None
        # reboot: the done-ack must leave before the machine goes down
        self.outbox.finish(
            cmd.cmd_id, "done", self._ack(cmd.cmd_id, "done", "rebooting"), self.now()
        )
        self.actions.drain(10.0)
        self.actions.reboot()
        return "rebooting", None

    def notice(self, args: NoticeArgs) -> tuple[str, dict[str, int] | None]:
        """Write (or withdraw) the notice; for a new one, wait for the UI to show it:
        (what happened, characters not drawn per language or None when unknown)."""
        if not args.text:  # a withdrawal: of this notice only, or of any ("all")
            shown = self.channel.read_notice()
            if shown is None or (args.id != CLEAR_ANY and shown.id != args.id):
                return "notice not shown", None  # ended, or replaced by a newer one
            self.channel.write_notice(None)
            return "notice cleared", None
        text = {str(k): v for k, v in args.text.items()}
        self.channel.write_notice(
            Notice(id=args.id, text=text, expires=args.expires, level=args.level)
        )
        health = self.channel.read_health()
        if health is None or self.clock() - health.ts > HEALTH_STALE_S:
            return "notice saved; the screen shows it when its UI runs again (not running)", None
        deadline = self.monotonic() + self.notice_wait_s
        while True:
            seen = self.channel.read_notice_shown()
            if seen is not None and seen.id == args.id:
                missing = {lang: seen.missing_glyphs.get(lang, 0) for lang in text}
                if not any(missing.values()):
                    return "notice shown", missing
                lost = ", ".join(f"{n} in {lang}" for lang, n in missing.items() if n)
                return f"notice shown; characters no font could draw: {lost}", missing
            if self.monotonic() >= deadline:
                return (
                    f"notice saved; the screen did not confirm it within "
                    f"{self.notice_wait_s:.0f} s (is the UI running?)",
                    None,
                )
            self.sleep(0.2)

    def screenshot(self, cmd_id: str, args: ScreenshotArgs) -> bytes:
        """Ask the UI for a PNG, wait for it, return the screenshot payload."""
        from kiosk.agent.picture import png_to_jpeg

        request_id = f"shot-{cmd_id}"
        png = self.channel.screenshots_dir / f"{request_id}.png"
        # what kiosk.ui.agentlink answers: it saves a PNG at most max_width wide
        body = {"op": "screenshot", "max_width": args.max_width, "cmd_id": cmd_id}
        self.channel.request(request_id, body)
        deadline = self.monotonic() + self.screenshot_wait_s
        try:
            while not png.exists():
                if self.monotonic() >= deadline:
                    raise CommandRefused(
                        f"the UI did not save a screenshot within {self.screenshot_wait_s:.0f} s (is it running?)"
                    )
                self.sleep(0.2)
            # the UI writes it atomically (kiosk.common.files): once it exists it is whole
            jpeg, width, height = png_to_jpeg(png.read_bytes(), args.max_width, args.quality)
        finally:
            self.channel.finish_request(request_id)
            png.unlink(missing_ok=True)
        health = self.channel.read_health()
        header = ScreenshotHeader(
            cmd_id=cmd_id,
            ts=self.now(),
            width=width,
            height=height,
            screen=health.screen[:80] if health else None,
        )
        return encode_screenshot(header, jpeg)
