"""The pack contract in kiosk.protocol: what a kiosk accepts from the network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.protocol.errors import ProtocolError
from kiosk.protocol.pack import (
    MAX_MANIFEST_BYTES,
    PageDoc,
    Token,
    pack_file,
    parse_manifest,
    parse_page,
)
from kiosk.protocol.paths import check_pack_path


def manifest_dict(built: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((built / "manifest.json").read_bytes())
    return data


def test_manifest_round_trips_to_identical_bytes(built_mini: Path) -> None:
    raw = (built_mini / "manifest.json").read_bytes()
    assert parse_manifest(raw).to_bytes() == raw


def test_page_documents_round_trip_and_stay_compact(built_mini: Path) -> None:
    manifest = parse_manifest((built_mini / "manifest.json").read_bytes())
    for entry in manifest.files:
        if entry.path.startswith("pages/"):
            raw = pack_file(built_mini, manifest, entry.path).read_bytes()
            doc = parse_page(raw)
            assert doc.to_bytes() == raw
            assert b'"b":false' not in raw and b'"l":null' not in raw


@pytest.mark.parametrize(
    "path",
    [
        "../etc/passwd",
        "/etc/passwd",
        "media/../../x",
        "media//x.png",
        "media\\x.png",
        ".hidden",
        "media/.x",
        "-rf",
        "",
        "a/" * 300,
        "media/x y.png",
        "media/x\x00.png",
        "café/x.png",
    ],
)
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(ProtocolError):
        check_pack_path(path)


@pytest.mark.parametrize("path", ["manifest.json", "media/icons/gate-1.png", "fonts/Laoo-Bold.ttf"])
def test_safe_paths_pass(path: str) -> None:
    assert check_pack_path(path) == path


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m["files"].append({**m["files"][0], "path": "../../evil"}), "unsafe path"),
        (lambda m: m["files"].reverse(), "sorted by path"),
        (lambda m: m["files"].pop(0), "referenced but not listed"),
        (lambda m: m.update(languages=["vi", "fr"]), "unknown language"),
        (lambda m: m.update(default_language="ko"), "default_language"),
        (lambda m: m.update(version=0), "version"),
        (lambda m: m.update(schema=2), "schema"),
        (lambda m: m.update(surprise=True), "surprise"),
        (lambda m: m["files"][0].update(sha256="ABC"), "sha256"),
        (lambda m: m["files"][0].update(length=-1), "length"),
        (lambda m: m["pages"][1].update(parent="ghost"), "unknown parent"),
    ],
)
def test_bad_manifests_are_refused_with_the_reason(
    built_mini: Path, change: Any, words: str
) -> None:
    data = manifest_dict(built_mini)
    change(data)
    with pytest.raises(ProtocolError, match="invalid pack manifest") as info:
        parse_manifest(json.dumps(data).encode())
    assert words in str(info.value)


def test_oversized_or_garbage_manifest_is_refused() -> None:
    with pytest.raises(ProtocolError, match="more than"):
        parse_manifest(b" " * (MAX_MANIFEST_BYTES + 1))
    with pytest.raises(ProtocolError, match="invalid pack manifest"):
        parse_manifest(b"\xff\xfe not json")


def test_page_image_paths_are_checked_too() -> None:
    doc = {
        "schema": 1,
        "page": "p",
        "lang": "en",
        "title": [{"t": "T", "s": "Latn"}],
        "blocks": [{"type": "image", "src": "../x.png", "width": 1, "height": 1}],
    }
    with pytest.raises(ProtocolError, match="unsafe path"):
        parse_page(json.dumps(doc).encode())


def test_tokens_omit_defaults_but_keep_the_block_type() -> None:
    doc = PageDoc.model_validate(
        {
            "schema": 1,
            "page": "p",
            "lang": "en",
            "title": [Token(t="T", s="Latn")],
            "blocks": [{"type": "paragraph", "text": [Token(t="a", s="Latn", j=True)]}],
        }
    )
    assert json.loads(doc.to_bytes())["blocks"] == [
        {"type": "paragraph", "text": [{"t": "a", "s": "Latn", "j": True}]}
    ]
