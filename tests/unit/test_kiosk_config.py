"""kiosk.toml: loaded once, validated, with errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.protocol.errors import UsageError

GOOD = """
[kiosk]
id = "lb-01"
gate = "lao-bao"
groups = ["quang-tri"]
state_dir = "state"

[server]
url = "http://10.0.0.1:8080/"
trusted_root = "root.json"

[mqtt]
url = "mqtts://10.0.0.1:8883"
heartbeat_s = 15

[sync]
bandwidth_kbps = 2000
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bundle" / "kiosk.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    bundle = (tmp_path / "bundle").resolve()
    assert cfg.kiosk.id == "lb-01" and cfg.kiosk.groups == ("quang-tri",)
    assert cfg.kiosk.state_dir == bundle / "state"
    assert cfg.server.url == "http://10.0.0.1:8080"
    assert cfg.server.trusted_root == bundle / "root.json"
    assert cfg.mqtt.heartbeat_s == 15 and cfg.sync.bandwidth_kbps == 2000
    assert cfg.ui.idle_timeout_s == 90 and cfg.sync.health_tries == 3
    assert cfg.server.ca is None  # the system's CAs


def test_a_private_https_ca_comes_with_the_bundle(tmp_path: Path) -> None:
    text = GOOD.replace(
        'trusted_root = "root.json"', 'trusted_root = "root.json"\nca = "server-ca.crt"'
    )
    cfg = load_config(write(tmp_path, text))
    assert cfg.server.ca == (tmp_path / "bundle").resolve() / "server-ca.crt"


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('id = "lb-01"', 'id = "LB 01"', "[kiosk] id"),
        ('gate = "lao-bao"\n', "", "[kiosk] gate is missing"),
        ('url = "http://10.0.0.1:8080/"', 'url = "ftp://x"', "http:// or https://"),
        ("heartbeat_s = 15", "heartbeat_s = 1", "between 5 and 3600"),
        ("heartbeat_s = 15", 'heartbeat_s = "15"', "must be a number"),
        ('trusted_root = "root.json"\n', "", "trusted_root is missing"),
        ('groups = ["quang-tri"]', 'groups = "quang-tri"', "list of strings"),
        ('url = "mqtts://10.0.0.1:8883"', 'url = "tcp://x"', "mqtt:// or mqtts://"),
    ],
)
def test_bad_values_name_file_section_and_key(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(UsageError, match=r"kiosk\.toml") as info:
        load_config(path)
    assert words in str(info.value)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found: pass --config"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(UsageError, match="cannot read config"):
        load_config(write(tmp_path, "[kiosk\nid="))
