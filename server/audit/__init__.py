"""The tamper-evident audit log: one append-only, hash-chained table (log.py), its
commands (commands.py)."""
