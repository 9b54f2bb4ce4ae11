"""The kiosk agent: verified sync (TUF), atomic install, health commit/revert."""
