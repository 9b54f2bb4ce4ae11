"""The five screens in their ScreenManager, and the change from one to the next.

The controller (kiosk.ui.controller) decides which screen shows what; this
puts it on display in one frame: the old screen leaves at once (never drawn
together with the new one), the window clears to the new screen's colour,
and once the traveller pauses a moment the old screen's garbage is collected
and freed memory returned to the system (kiosk.ui.env).
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.ui import kvfiles
from kiosk.ui.env import collect_garbage, return_free_pages
from kiosk.ui.screens.attract import AttractScreen
from kiosk.ui.screens.home import HomeScreen
from kiosk.ui.screens.language import LanguageScreen
from kiosk.ui.screens.page import PageScreen
from kiosk.ui.screens.preparing import PreparingScreen
from kiosk.ui.textview import TokenText

#: seconds after the last screen change to collect the old screen's garbage, and to
#: return freed memory to the system (see kiosk.ui.env)
COLLECT_AFTER_S = 0.3
TRIM_AFTER_S = 2.0


class ScreenSet:
    def __init__(self) -> None:
        kvfiles.load_all()
        self.manager = ScreenManager(transition=NoTransition())
        self.attract = AttractScreen(name="attract")
        self.language = LanguageScreen(name="language")
        self.home = HomeScreen(name="home")
        self.page = PageScreen(name="page")
        self.preparing = PreparingScreen(name="preparing")
        for screen in (self.attract, self.language, self.home, self.page, self.preparing):
            self.manager.add_widget(screen)
        self._collect = Clock.create_trigger(lambda _dt: collect_garbage(), COLLECT_AFTER_S)
        self._trim = Clock.create_trigger(lambda _dt: return_free_pages(), TRIM_AFTER_S)

    def switch(self, name: str) -> None:
        """Put the screen `name` on display now."""
        previous = self.manager.current_screen
        self.manager.current = name
        # The screens draw no background of their own (a full-screen fill is 12 ms per
        # frame without a GPU): the window clears to the screen's colour, and the old
        # screen leaves now, not at the next frame, so the two are never drawn together.
        self.manager.transition.stop()
        current = self.manager.current_screen
        if previous is not None and previous is not current:
            # Stopping the transition skips Kivy's on_leave/on_enter: say it ourselves,
            # so that a screen left behind stops its timers and lets go of its pictures.
            previous.dispatch("on_leave")
            current.dispatch("on_enter")
        Window.clearcolor = current.background
        for tidy in (self._collect, self._trim):  # once the traveller pauses a moment
            tidy.cancel()
            tidy()

    def forget_hidden(self) -> None:
        """Screens not on display let go of the old pack's fonts (its files may go away);
        each is drawn afresh from the new pack when it is shown."""
        for screen in self.manager.screens:
            if screen is self.manager.current_screen:
                continue
            screen.fontbook = None
            for widget in screen.walk(restrict=True):
                if isinstance(widget, TokenText):
                    widget.fontbook = None
