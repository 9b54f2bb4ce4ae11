"""The screenshot seam end to end: the agent's command runner (kiosk.agent.remote)
asks the real kiosk UI through the local channel and gets back what is on screen,
as the scaled JPEG payload the server stores."""

from __future__ import annotations

import base64
import io
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from uikit import Kiosk, install

from kiosk.agent.outbox import Outbox
from kiosk.agent.remote import Actions, CommandRunner
from kiosk.protocol.payloads import Command, command_signing_bytes, parse_screenshot


def test_a_screenshot_command_gets_the_picture_the_real_ui_draws(
    window: Any, built_mini: Path, tmp_path: Path
) -> None:
    install(tmp_path / "state", built_mini, "mini-1")
    kiosk = Kiosk(window, tmp_path / "state", tmp_path / "work")
    outbox = Outbox(tmp_path / "outbox.db")
    try:
        kiosk.ui.touched()
        kiosk.ui.choose_language("vi")
        kiosk.frames()
        kiosk.link.write_health()
        key = Ed25519PrivateKey.generate()
        sent: list[bytes] = []
        actions = Actions(
            trigger_sync=lambda: None,
            reboot=lambda: None,
            publish_screenshot=sent.append,
            drain=lambda _t: None,
        )
        now = kiosk.time.now
        runner = CommandRunner(
            "lb-01", key.public_key(), outbox, kiosk.channel, actions, clock=lambda: now
        )
        cmd = Command(
            cmd_id="shot01",
            op="screenshot",
            kiosk="lb-01",
            iat=now,
            exp=now + 60,
            args={"max_width": 640},
        )
        signed = cmd.model_copy(
            update={"sig": base64.b64encode(key.sign(command_signing_bytes(cmd))).decode()}
        )
        outcome: list[str] = []
        agent = threading.Thread(target=lambda: outcome.append(runner.handle(signed.to_bytes())))
        agent.start()
        deadline = time.monotonic() + 20
        while agent.is_alive() and time.monotonic() < deadline:
            kiosk.link.poll()  # the UI's side: answers the request from the main thread
            kiosk.frames(1)
        agent.join(5)
        assert outcome == ["done"]
        header, jpeg = parse_screenshot(sent[0])
        assert (header.width, header.height) == (640, 360)
        assert header.screen == kiosk.ui.screen_name == "home"
        with Image.open(io.BytesIO(jpeg)) as picture:
            assert picture.size == (640, 360)
            colours = picture.convert("RGB").getcolors(maxcolors=640 * 360)
            assert colours is not None and len(colours) > 20  # a drawn screen, not a blank one
        assert kiosk.channel.pending_requests() == []
        assert not list(kiosk.channel.screenshots_dir.glob("*.png"))
    finally:
        outbox.close()
        kiosk.close()
