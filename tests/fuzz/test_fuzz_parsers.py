"""Property-based fuzzing (Hypothesis) of what reads untrusted input: the MQTT
payload parsers (kiosk.protocol.payloads), pack manifests and page documents
(kiosk.protocol.pack), the pack Markdown subset (server.packs.markup), kiosk.toml
(kiosk.config) and pack.toml (server.packs.source). Each either returns its
result or raises its documented error (ProtocolError, UsageError; findings for
pack sources), on random input, on mutations of valid documents and on
pathological input (deep nesting, huge numbers, long runs of markup).

Short runs here (derandomized, so a failure reproduces); long random runs:
`bench/fuzz.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config import load_config
from kiosk.protocol.errors import BgkError, ProtocolError, UsageError
from kiosk.protocol.pack import parse_manifest, parse_page, parse_strings
from kiosk.protocol.payloads import (
    MAX_BYTES,
    parse_announce,
    parse_command,
    parse_kiosk_payload,
    parse_screenshot,
    parse_server_status,
)
from kiosk.protocol.topics import Kind
from server.packs.findings import Findings
from server.packs.markup import parse_page as parse_markup
from server.packs.source import load_source

#: bench/fuzz.py sets BGK_FUZZ_EXAMPLES for long random runs; the suite's runs are
#: short and derandomized (a failure reproduces)
LONG = int(os.environ.get("BGK_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=LONG or 80,
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

HEARTBEAT = {
    "boot_id": "b" * 16, "seq": 3, "ts": 1796000000.0, "period": 30.0, "uptime": 90.0,
    "pack": {"id": "lao-bao", "version": 3, "hash": "a" * 64},
    "ui": {"alive": True, "screen": "attract", "last_touch": None}, "temp": 51.0,
    "disk_free": 8000000000, "time_floor": 1795990000.0, "stale": False, "agent": "bgk 0.1",
}  # fmt: skip
EVENT = {"outbox_id": "o" * 16, "seq": 1, "ts": 1796000000.0, "kind": "install", "data": {"v": 1}}
STATUS = {"online": True, "boot_id": "b" * 16, "seq0": 1, "ts": 1796000000.0, "hb_s": 30.0}
COMMAND = {
    "cmd_id": "c1", "op": "notice", "kiosk": "k-1", "iat": 1.0, "exp": 2.0, "sig": "",
    "args": {"id": "n1", "text": {"vi": "x"}, "expires": 2.0},
}  # fmt: skip
VALID: dict[str, dict[str, Any]] = {
    "hb": HEARTBEAT, "events": EVENT, "status": STATUS, "cmd": COMMAND,
    "ack": {"cmd_id": "c1", "state": "done", "reason": "", "ts": 1.0},
}  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)


def mutated(doc: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """The valid document with some fields replaced, dropped or added."""

    def change(edits: list[tuple[str, Any, bool]]) -> bytes:
        out = dict(doc)
        for key, value, drop in edits:
            if drop and key in out:
                del out[key]
            else:
                out[key] = value
        return json.dumps(out, allow_nan=True).encode()

    keys = st.sampled_from([*doc.keys(), "extra"])
    return st.lists(st.tuples(keys, json_values, st.booleans()), max_size=4).map(change)


def pathological() -> list[bytes]:
    return [
        b"[" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"9" * 5000,
        b'{"seq": 1e999999}',
        b'{"seq": ' + b"9" * 4400 + b"}",
        b'{"ts": NaN, "seq": Infinity}',
        b'"\\ud800"',
        b"\xff\xfe\x00",
        b"\x00" * 1000,
        b'{"boot_id":"' + b"\\u0000" * 3000 + b'"}',
        b" " * 1024 * 1024,
    ]


def _kiosk_parse(kind: Kind, payload: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_kiosk_payload(kind, payload)


@pytest.mark.parametrize("kind", ["hb", "events", "status", "cmd", "ack"])
def test_kiosk_payloads_parse_or_say_why(kind: str) -> None:
    topic_kind = Kind(kind) if kind != "ack" else Kind.ACK
    parse_kiosk_payload(topic_kind, json.dumps(VALID[kind]).encode())  # the seed is valid

    @FUZZ
    @given(st.one_of(mutated(VALID[kind]), st.binary(max_size=600), json_values.map(
        lambda v: json.dumps(v, allow_nan=True).encode())))  # fmt: skip
    def run(payload: bytes) -> None:
        _kiosk_parse(topic_kind, payload)

    run()
    for payload in pathological():
        _kiosk_parse(topic_kind, payload)


@FUZZ
@given(st.binary(max_size=600) | mutated({"timestamp_version": 3, "packs": {"lao-bao": 2}}))
def test_server_to_kiosk_payloads(payload: bytes) -> None:
    for parse in (parse_announce, parse_server_status, parse_command):
        with contextlib.suppress(ProtocolError):
            parse(payload)


@FUZZ
@given(st.binary(max_size=300), st.binary(max_size=100))
def test_screenshots(head: bytes, tail: bytes) -> None:
    header = json.dumps({"cmd_id": "c1", "ts": 1.0, "width": 10, "height": 10}).encode()
    for payload in (
        head,
        header + b"\n" + tail,
        header + b"\n\xff\xd8\xff" + tail,
        head + b"\n" + tail,
    ):
        with contextlib.suppress(ProtocolError):
            parse_screenshot(payload)
    with pytest.raises(ProtocolError):
        parse_screenshot(b"x" * (MAX_BYTES[Kind.SCREENSHOT] + 1))


MANIFEST = {
    "schema": 1, "id": "mini", "version": 1, "title": {"vi": "Mini"}, "languages": ["vi"],
    "default_language": "vi", "pages": [], "fonts": {}, "strings": {"vi": "i18n/vi.json"},
    "files": [{"path": "i18n/vi.json", "sha256": "a" * 64, "length": 2}],
}  # fmt: skip


@FUZZ
@given(st.one_of(mutated(MANIFEST), st.binary(max_size=400)))
def test_manifests_and_page_documents(data: bytes) -> None:
    for parse in (parse_manifest, parse_page, parse_strings):
        with contextlib.suppress(ProtocolError):
            parse(data)  # type: ignore[operator]


def test_pathological_manifests() -> None:
    for data in pathological():
        for parse in (parse_manifest, parse_page, parse_strings):
            with pytest.raises(ProtocolError):
                parse(data)  # type: ignore[operator]


MARKDOWN_PIECES = [
    "# ", "## ", "### ", "#### ", "- ", "1. ", "* ", "**", "*", "_", "`", "[", "]", "(", ")",
    "![", "](", "http://x", "\n", "\n\n", "    ", "> ", "|", "<b>", "&amp;", "ນ້ຳ", "น้ำ",
    "中文", "\u200b", "\r\n", "\\", "---", "```", "~~", "{#id}", ":", "[[", "]]",
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(MARKDOWN_PIECES) | st.text(max_size=8), max_size=80).map("".join))
def test_markdown_subset_never_raises(text: str) -> None:
    findings = Findings()
    page = parse_markup(text, "pages/x.vi.md", findings)
    assert isinstance(page.blocks, list)


def test_markdown_pathological_input() -> None:
    for text in (
        "*" * 20_000, "[" * 20_000, "](" * 10_000, "**a" * 10_000, "- " * 10_000 + "x",
        ("  " * 200 + "- x\n") * 200, "# " * 5000, "![" * 5000 + "](" * 5000, "\\" * 20_000,
        "a" * 500_000,
    ):  # fmt: skip
        findings = Findings()
        parse_markup(text, "pages/x.vi.md", findings)


TOML_PIECES = [
    "[kiosk]\n", "[server]\n", "[mqtt]\n", "[sync]\n", "[ui]\n", 'id = "k-1"\n', 'gate = "lao-bao"\n',
    'url = "https://x"\n', 'trusted_root = "root.json"\n', "interval_s = 60\n", "interval_s = -1\n",
    'interval_s = "x"\n', "heartbeat_s = 1e400\n", 'state_dir = "/tmp/x"\n', "x = [1, {a = 2}]\n",
    "= \n", '"\n', "[[pages]]\n", "a.b.c = 1\n", "\x00", "\ufeff",
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(TOML_PIECES) | st.text(max_size=10), max_size=25).map("".join))
def test_kiosk_toml(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kiosk.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with contextlib.suppress(UsageError):
            load_config(path)


PACK_PIECES = [
    "[pack]\n", 'id = "mini"\n', "version = 1\n", "version = 0\n", 'languages = ["vi", "en"]\n',
    "[[pages]]\n", 'id = "home"\n', 'title = { vi = "x" }\n', "[title]\n", 'vi = "x"\n', "= \n",
    'icon = "../../etc/passwd"\n', "order = 1e400\n",
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(PACK_PIECES) | st.text(max_size=10), max_size=25).map("".join))
def test_pack_toml_gives_findings(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pack"
        root.mkdir()
        (root / "pack.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
        findings = Findings()
        try:
            load_source(root, findings)
        except BgkError as exc:  # pragma: no cover - a documented refusal would say so
            raise AssertionError(f"pack.toml problems are findings, not {exc!r}") from exc
