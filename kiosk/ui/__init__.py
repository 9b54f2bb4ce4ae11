"""The kiosk's touch-screen UI (Kivy): the only part of the project that imports kivy.

Pure modules (no Kivy): layout (line breaking of tokens), plaintext (tokens
for run-time text), content (loading a pack), session, theme, env, xvfb,
errors (the UI's error tree). Kivy modules: fonts, textview, widgets,
screens/, notice, controller, agentlink, app, preview. Importing a Kivy
module opens Kivy's machinery, so call kiosk.ui.env.setup_kivy first.
"""
