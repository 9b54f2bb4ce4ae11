"""The dashboard (server-rendered HTML): overview.py (fleet, kiosk, alerts, packs;
`install_dashboard`), login.py, notices.py, reports.py, admin.py, and pages.py
(what the pages share). Templates and static files are in server/web/."""
