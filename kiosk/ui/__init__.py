"""The kiosk's touch-screen UI (Kivy): the only part of the project that imports kivy.

Pure modules (no Kivy): layout (line breaking of tokens), plaintext (tokens
for run-time text), content (loading and checking a pack), session (the
anonymous session record, the page history), theme (sizes and colours),
system_fonts, env (Kivy and process set-up), xvfb, errors (the UI's error
tree). Kivy modules: fonts (per-script fonts, measuring, textures), textview
(TokenText), widgets, screens/ (one .kv each), notice, root, controller
(KioskUi) with its helpers screenset (the screens and the change between them)
and notice_control (which notice is shown, when), agentlink (the channel with
the agent), app (`bgk kiosk ui`),
preview (`bgk pack preview`). Importing a Kivy module starts Kivy's
machinery, so call kiosk.ui.env.setup_kivy first.
"""
