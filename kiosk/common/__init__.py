"""What the kiosk and the server share that is not the wire contract
(kiosk/protocol): the `bgk` subcommand registry (cli.py), TOML settings
helpers (tomlconf.py), retry backoff (backoff.py), atomic durable file writes
(files.py) and the Vietnam calendar day (vietnam.py). Pure standard library."""
