"""The kiosk's screens, one module and one .kv file each.

attract (idle loop) -> language (chooser) -> home (tiles) -> page (content);
preparing is shown while a kiosk has no pack. Screens only draw what they
are given and emit events; kiosk.ui.controller decides what comes next.
"""
