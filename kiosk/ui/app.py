"""`bgk kiosk ui`: the traveller's screen as a service.

Fullscreen on a Raspberry Pi without a desktop (SDL2 straight on KMS/DRM,
see kiosk.ui.env), a window on a machine with a desktop. The pack comes
from `<state_dir>/current`; the agent talks to it through `<state_dir>/ui`.
systemd stops it with SIGTERM: the running session is recorded and a last
health report written before it exits.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from kiosk.config import KioskConfig
from kiosk.local import Channel
from kiosk.ui.env import WindowSetup, kiosk_display_env, setup_kivy

log = logging.getLogger(__name__)

#: window sizes on a desktop (the layout scales with the window)
WINDOW_LANDSCAPE = (1280, 720)
WINDOW_PORTRAIT = (576, 1024)


def window_setup(config: KioskConfig, *, windowed: bool, kms: bool) -> WindowSetup:
    ui = config.ui
    fullscreen = not windowed and (ui.fullscreen == "yes" or (ui.fullscreen == "auto" and kms))
    if fullscreen:
        width, height = (1920, 1080) if ui.orientation == "landscape" else (1080, 1920)
    else:
        width, height = WINDOW_LANDSCAPE if ui.orientation == "landscape" else WINDOW_PORTRAIT
    return WindowSetup(
        width=width, height=height, fullscreen=fullscreen, show_cursor=not fullscreen
    )


def run_kiosk(config: KioskConfig, *, windowed: bool = False) -> int:
    """Run the UI until the window closes or SIGTERM; returns the exit status."""
    kms = False if windowed else kiosk_display_env()
    setup = window_setup(config, windowed=windowed, kms=kms)
    work_dir = config.kiosk.state_dir / "ui" / "cache"
    work_dir.mkdir(parents=True, exist_ok=True)
    setup_kivy(setup, kivy_home=work_dir / "kivy")

    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.ui.agentlink import AgentLink
    from kiosk.ui.controller import KioskUi

    if Window is None:
        from kiosk.ui.errors import DisplayError

        raise DisplayError(
            "no window could be opened: on a Raspberry Pi without a desktop check that the "
            "user is in the video, render and input groups; elsewhere set DISPLAY"
        )
    _turn_to(config.ui.orientation, Window)
    channel = Channel(config.kiosk.state_dir)
    ui = KioskUi(channel.current, config.ui, work_dir)
    link = AgentLink(ui, channel)

    class KioskApp(App):  # type: ignore[misc]
        title = "bgk kiosk"

        def build(self) -> Any:
            return ui.root

        def on_start(self) -> None:
            ui.start()
            link.start()

        def on_stop(self) -> None:
            ui.stop()
            link.stop()

    app = KioskApp()

    def _terminate(_signum: int, _frame: Any) -> None:
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    signal.signal(signal.SIGTERM, _terminate)
    app.run()
    return 0


def _turn_to(orientation: str, window: Any) -> None:
    """A panel mounted the other way round: turn the picture (and the touches) by 90°."""
    width, height = window.system_size
    portrait_panel = height > width
    if (orientation == "portrait") != portrait_panel:
        window.rotation = 90
