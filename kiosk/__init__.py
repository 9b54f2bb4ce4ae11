"""Border-gate kiosk: the shared protocol, the agent and the Kivy UI."""
