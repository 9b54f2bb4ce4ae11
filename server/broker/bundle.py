"""The MQTT part of a kiosk's enrolment bundle (server.fleet.enroll.BUNDLE_PARTS;
server/broker/parts.py has the types).

    [mqtt] url, ca = "mqtt-ca.crt", username, password, heartbeat_s, keepalive_s,
           will_delay_s, command_key = "command.pub"
    mqtt-ca.crt    the CA that signed the broker's certificate
    command.pub    the Ed25519 key the kiosk verifies commands with

A new password is issued at every enrolment (a re-enrolled kiosk's old
bundle stops working), inside the enrolment's transaction; enroll.py then
rewrites the broker's kiosk list and reloads the broker, so the kiosk can log
in at once.
"""

from __future__ import annotations

from server.broker.credentials import issue_kiosk_password, issue_password
from server.broker.parts import BundleContext, BundleFile, BundlePiece
from server.broker.pki import ensure_fleet_keys
from server.fleet_settings import broker_hostnames
from server.store import open_store


def mqtt_part(ctx: BundleContext) -> BundlePiece:
    cfg = ctx.config
    keys = ensure_fleet_keys(cfg.data, broker_hostnames(cfg.mqtt))
    if ctx.conn is not None:
        identity = issue_password(ctx.conn, ctx.kiosk.id, ctx.now)
    else:
        store = open_store(cfg.store_url)
        try:
            identity = issue_kiosk_password(store, ctx.kiosk.id, ctx.now)
        finally:
            store.dispose()
    fleet = cfg.fleet
    return BundlePiece(
        sections={
            "mqtt": {
                "url": cfg.mqtt.kiosk_url,
                "ca": "mqtt-ca.crt",
                "username": identity.username,
                "password": identity.password,
                "heartbeat_s": fleet.heartbeat_s,
                "keepalive_s": fleet.keepalive_s,
                "will_delay_s": fleet.will_delay_s,
                "command_key": "command.pub",
            }
        },
        files=[
            BundleFile("mqtt-ca.crt", keys.ca_cert.read_bytes()),
            BundleFile("command.pub", keys.command_pub.read_bytes()),
        ],
    )
