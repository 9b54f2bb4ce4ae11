"""Server side of the fleet link without a broker: state and alert rules, broker
files, password hashes (checked against Mosquitto's own tool), keys, settings."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from kiosk.common.tomlconf import TomlReader
from kiosk.protocol.errors import UsageError
from kiosk.protocol.payloads import Heartbeat, parse_kiosk_payload
from kiosk.protocol.topics import Kind
from server.broker.conf import production_layout, render_acl, render_conf
from server.broker.credentials import check_mosquitto_hash, mosquitto_hash, server_identity
from server.broker.identity import Identity
from server.broker.pki import ensure_fleet_keys
from server.fleet.state import Facts, alert_conditions, derive_state
from server.fleet.stats import Latency
from server.fleet_settings import FleetSettings, parse_settings
from server.sim.simulator import SimKiosk, SimOptions, Simulator

REPO = Path(__file__).resolve().parents[2]
CFG = FleetSettings()
T = 1_780_000_000.0


def facts(**over: object) -> Facts:
    base: dict[str, object] = dict(
        kiosk_id="k", state="online", state_since=T - 1000, online=True, status_at=T - 1000, hb_at=T - 5,
        hb_ts=T - 4, period=30.0, stale=False, ui_alive=True, disk_free=10**10, temp=50.0,
        rejected_pack=None, rejected_version=None, rejected_reason=None,
    )  # fmt: skip
    base.update(over)
    return Facts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("over", "want"),
    [
        ({}, ("online", "heartbeat")),
        ({"hb_at": T - 50}, ("online", "heartbeat")),
        ({"hb_at": T - 51}, ("stale", "late heartbeat")),  # > 1.5 periods + 5 s
        ({"hb_at": T - 101}, ("offline", "no heartbeat")),  # > 3 periods + 10 s
        ({"stale": True}, ("stale", "content expired")),
        ({"online": False}, ("offline", "disconnected")),  # the LWT
        (
            {"hb_at": None, "status_at": T - 3},
            ("online", "connected"),
        ),  # birth, first heartbeat on its way
        (
            {"hb_at": T - 500, "status_at": T - 2},
            ("online", "heartbeat"),
        ),  # reconnected after a long gap
        ({"hb_at": None, "status_at": None, "online": None}, ("offline", "never seen")),
        ({"period": 5.0, "hb_at": T - 13}, ("stale", "late heartbeat")),
    ],
)
def test_state_rules(over: dict[str, object], want: tuple[str, str]) -> None:
    assert derive_state(facts(**over), T, CFG) == want


def test_alert_rules() -> None:
    assert alert_conditions(facts(), "online", T - 1000, T, CFG) == {}
    found = alert_conditions(
        facts(ui_alive=False, disk_free=100 * 2**20, temp=80.0, rejected_pack="lao-bao", rejected_version=5, rejected_reason="bad hash"),
        "online", T - 1000, T, CFG,
    )  # fmt: skip
    assert set(found) == {"ui_down", "disk_low", "temp_high", "pack_rejected"}
    assert found["pack_rejected"] == "lao-bao v5: bad hash" and found["disk_low"] == "100 MB free"
    assert "offline" not in alert_conditions(
        facts(), "offline", T - 299, T, CFG
    )  # not yet N minutes
    assert "offline" in alert_conditions(facts(), "offline", T - 300, T, CFG)


def test_a_kiosk_clock_far_from_the_servers_is_an_alert_with_the_time_it_said() -> None:
    # a Pi without a clock battery: 2040, or back in 1970 after a power cut
    ahead = alert_conditions(facts(hb_ts=2_208_988_800.0), "online", T - 1000, T, CFG)
    assert ahead == {"clock": "01/01/2040 07:00"}  # Vietnam time, as the kiosk said it
    behind = alert_conditions(facts(hb_ts=0.0), "online", T - 1000, T, CFG)
    assert behind == {"clock": "01/01/1970 08:00"}  # Saigon was UTC+8 in 1970 (tzdata)
    # within [fleet] clock_skew_s (600 s) of the server: no alert
    assert alert_conditions(facts(hb_ts=T - 5 + 590), "online", T - 1000, T, CFG) == {}
    assert "clock" in alert_conditions(facts(hb_ts=T - 5 - 610), "online", T - 1000, T, CFG)


def test_deploy_config_is_what_the_command_writes() -> None:
    assert (REPO / "deploy" / "mosquitto" / "mosquitto.conf").read_text() == render_conf(
        production_layout()
    )
    assert (REPO / "deploy" / "mosquitto" / "acl.example").read_text() == render_acl(4)
    conf = render_conf(production_layout())
    for line in (
        "allow_anonymous false",
        "use_username_as_clientid true",
        "persistence true",
        "max_queued_messages 300000",
    ):
        assert line in conf.splitlines()
    acl = render_acl(2).splitlines()
    first_user = acl.index("user _server-1")
    assert not [
        line for line in acl[:first_user] if line.startswith("topic ")
    ]  # topic before user = anonymous only
    assert "pattern read bgk/v1/kiosk/%u/cmd" in acl and "pattern read bgk/v1/packs/#" in acl
    assert not [line for line in acl if line.startswith("pattern") and "readwrite" in line]


@pytest.mark.skipif(
    shutil.which("mosquitto_passwd") is None,
    reason="mosquitto_passwd is part of the mosquitto package scripts/test installs",
)
def test_password_hashes_match_mosquittos_own_tool(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), "lb-01", "s3cret pass"], check=True)
    theirs = pw.read_text().strip().split(":", 1)[1]
    assert check_mosquitto_hash("s3cret pass", theirs)
    assert not check_mosquitto_hash("s3cret", theirs)
    ours = mosquitto_hash("s3cret pass")
    assert ours.startswith("$7$101$") and check_mosquitto_hash("s3cret pass", ours)
    assert ours != mosquitto_hash("s3cret pass")  # salted
    assert not check_mosquitto_hash("x", "$6$not-ours")


def test_fleet_keys_are_made_once_private_and_reissued_for_new_names(tmp_path: Path) -> None:
    keys = ensure_fleet_keys(tmp_path, ["kiosk.example.vn"])
    for private in (keys.ca_key, keys.broker_key, keys.command_key, keys.server_secret):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(keys.broker_cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kiosk.example.vn" in names.get_values_for_type(x509.DNSName)
    ca_before, cert_before = keys.ca_cert.read_bytes(), keys.broker_cert.read_bytes()
    secret = keys.secret()
    again = ensure_fleet_keys(tmp_path, ["kiosk.example.vn"])
    assert again.broker_cert.read_bytes() == cert_before and again.secret() == secret
    ensure_fleet_keys(tmp_path, ["gate2.example.vn"])
    assert keys.broker_cert.read_bytes() != cert_before and keys.ca_cert.read_bytes() == ca_before
    one, two = server_identity(keys, 1), server_identity(keys, 2)
    assert one.username == "_server-1" and one.password != two.password
    assert server_identity(keys, 1) == one  # derived, never stored
    with pytest.raises(UsageError):
        server_identity(keys, 0)


def test_settings_are_read_and_checked() -> None:
    raw = {
        "mqtt": {"url": "mqtt://127.0.0.1:1883", "share": True, "hostnames": ["a.vn"]},
        "fleet": {"heartbeat_s": 60},
    }
    mqtt, fleet = parse_settings(
        TomlReader(raw, "server.toml", Path("/srv")), "https://kiosk.example.vn"
    )
    assert (
        mqtt.kiosk_url == "mqtts://kiosk.example.vn:8883" and mqtt.share and fleet.heartbeat_s == 60
    )
    with pytest.raises(UsageError, match="mqtt://host:port"):
        parse_settings(
            TomlReader({"mqtt": {"url": "http://x"}}, "server.toml", Path("/")), "https://x"
        )
    with pytest.raises(UsageError, match="true or false"):
        parse_settings(
            TomlReader({"mqtt": {"share": "yes"}}, "server.toml", Path("/")), "https://x"
        )
    with pytest.raises(UsageError, match="between"):
        parse_settings(
            TomlReader({"fleet": {"batch_ms": 0}}, "server.toml", Path("/")), "https://x"
        )


def test_latency_quantiles() -> None:
    lat = Latency()
    assert lat.quantile(0.99) is None
    for ms in range(1, 101):
        lat.add(ms / 1000)
    assert lat.quantile(0.5) == 0.05 and lat.quantile(0.99) == 0.099


def test_simulated_heartbeats_follow_the_contract() -> None:
    sim = Simulator(
        "mqtt://127.0.0.1:1",
        [Identity("sim-00001", "x"), Identity("sim-00002", "y")],
        SimOptions(stale_frac=0.5, seed=3),
    )
    try:
        for kiosk in sim.kiosks:
            hb = parse_kiosk_payload(Kind.HB, sim._heartbeat(kiosk, T))
            assert isinstance(hb, Heartbeat) and hb.seq == 1 and hb.ui.alive == kiosk.ui_alive
            assert hb.stale == kiosk.stale and hb.pack is not None
            assert hb.pack.version == (2 if kiosk.stale else 3)
        assert isinstance(sim.kiosks[0], SimKiosk)
        assert json.loads(sim._heartbeat(sim.kiosks[0], T))["seq"] == 2
    finally:
        sim.close()
