"""`bgk server publish|export|packs|rotate-key|resign` (`bgk keys ...`: key_cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.common.cli import Registry

if TYPE_CHECKING:
    from server.packs.publish import PublishResult


def register(registry: Registry) -> None:
    p = registry.add(
        "server publish", "sign a built pack and publish it to a gate, a group or all", _publish
    )
    p.add_argument("pack", type=Path, nargs="?", help="a built pack folder (bgk pack build -o ...)")
    _data(p)
    p.add_argument(
        "--to",
        action="append",
        metavar="GATE|GROUP|all",
        help="who gets the pack (repeat or comma-separate for several)",
    )
    p.add_argument(
        "--review",
        type=int,
        metavar="N",
        help="instead of PACK and --to: the build and audience of approved review N "
        "(the workspace's reviews; refused if the build changed since it was reviewed)",
    )
    _keys(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add("server packs", "list the published packs and who they are for", _packs)
    _data(p)
    p.add_argument("--json", action="store_true", help="print as JSON")

    p = registry.add(
        "server export", "copy a published pack with its signed metadata to a folder (USB)", _export
    )
    p.add_argument("pack", help="pack id, e.g. lao-bao (its newest published version)")
    _data(p)
    p.add_argument(
        "-o", "--out", type=Path, required=True, help="folder to write (e.g. on the USB stick)"
    )
    p.add_argument(
        "--valid-days",
        type=int,
        default=7,
        help="days the stick stays importable, 1..365 (its own signed metadata; the server's "
        "stays as it is; default 7)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "server rotate-key", "replace a TUF role's key, signed into a new root", _rotate
    )
    _data(p)
    p.add_argument("--role", required=True, choices=("root", "targets", "snapshot", "timestamp"))
    _keys(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "server resign", "re-sign targets or root with the offline keys (extends expiry)", _resign
    )
    _data(p)
    p.add_argument("--role", required=True, choices=("targets", "root"))
    _keys(p)


def _data(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", type=Path, required=True, help="the server data folder (bgk server init)"
    )


def _keys(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keys", type=Path, help="offline keys folder (default: [tuf] offline_keys of server.toml)"
    )
    p.add_argument(
        "--passphrase-file",
        type=Path,
        help="file whose first line is the offline keys' passphrase (default: asked)",
    )


def _passphrases(args: argparse.Namespace) -> Any:
    from server.packs.keyfile import Passphrases

    return Passphrases(args.passphrase_file)


def _print(args: argparse.Namespace, body: dict[str, Any], text: str) -> None:
    print(json.dumps(body, ensure_ascii=False) if args.json else text)


def _publish(args: argparse.Namespace) -> int:
    from kiosk.protocol.errors import UsageError
    from server.config import load_server_config
    from server.packs.keys import OFFLINE_ROLES
    from server.packs.publish import check_audience, publish_pack
    from server.packs.signing import open_repository, utcnow

    if args.review is not None and (args.pack is not None or args.to):
        raise UsageError("--review N publishes the review's own build to its audience: "
                         "leave out PACK and --to")  # fmt: skip
    if args.review is None and (args.pack is None or not args.to):
        raise UsageError("name a built pack folder and --to GATE|GROUP|all (or --review N)")
    config = load_server_config(args.data)
    if args.review is not None:
        return _publish_review(args, config)
    audience = check_audience(args.to)
    repo = open_repository(
        config, ("targets",), keys=args.keys, now=utcnow, passphrases=_passphrases(args)
    )
    assert "targets" in OFFLINE_ROLES
    result = publish_pack(repo, config.blob_dir, args.pack, audience, utcnow)
    return _published(args, config, result)


def _publish_review(args: argparse.Namespace, config: Any) -> int:
    """`--review N`: check the approved build's manifest hash, then publish it."""
    from server.audit import log as audit
    from server.packs.publications import cli_user
    from server.packs.review_publish import approved_build, publish_review
    from server.packs.signing import open_repository, utcnow
    from server.store import open_store

    store = open_store(config.store_url)
    try:
        approved_build(config, store, args.review)  # before asking for a passphrase
        repo = open_repository(
            config, ("targets",), keys=args.keys, now=utcnow, passphrases=_passphrases(args)
        )
        result = publish_review(config, store, repo, args.review, utcnow, by=cli_user())
        p = result.pack
        audit.append(store, cli_user(), "review.published", f"review:{args.review}",
                     {"pack": p.pack, "version": p.version, "to": list(p.to),
                      "manifest_sha256": p.sha256}, now=time.time())  # fmt: skip
    finally:
        store.dispose()
    return _published(args, config, result)


def _published(args: argparse.Namespace, config: Any, result: PublishResult) -> int:
    warning = _after_publish(config.store_url, result)
    if warning:
        print(f"bgk: warning: {warning}", file=sys.stderr)
    site_warning = _make_site(config, result.pack.pack)
    if site_warning:
        print(f"bgk: warning: {site_warning}", file=sys.stderr)
    p = result.pack
    text = (
        f"published {p.pack} version {p.version} to {', '.join(p.to)}"
        f"{' (audience widened)' if result.widened else ''}: {result.blobs_copied} new blobs, "
        f"{result.bytes_copied / 1e6:.1f} MB; timestamp v{result.timestamp_version}"
    )
    _print(args, result.as_dict(), text)
    return 0


def _make_site(config: Any, pack_id: str) -> str | None:
    """The pack's web copy for /p/<pack>/, made now so that no traveller waits for it."""
    from kiosk.protocol.errors import BgkError, ProtocolError
    from server.packs.sitecache import SiteCache
    from server.packs.today import vietnam_today

    try:
        SiteCache(config).folder(pack_id, vietnam_today())
    except (BgkError, OSError, ProtocolError) as exc:
        return f"published, but its web copy (/p/{pack_id}/) will be made when first asked: {exc}"
    return None


#: tries to write the publication log (0.5 + 1 + 2 + 4 + 5 + 5 + ... s apart, ~45 s)
LOG_TRIES = 12


def _after_publish(store_url: str, result: PublishResult) -> str | None:
    """Log the publication (reports) and check its audience; a warning or None."""
    from sqlalchemy.exc import SQLAlchemyError

    from server.broker.registry import KioskRegistry
    from server.packs.publications import cli_user, record_publication
    from server.store import open_store

    to = result.pack.to
    # the pack is signed and served already: a store that is restarting (found by
    # bench/soak.py: a traceback, though published) gets a few tries before a warning
    for attempt in range(LOG_TRIES):
        try:
            store = open_store(store_url)
            try:
                record_publication(store, result, cli_user())
                kiosks = KioskRegistry(store).list()
            finally:
                store.dispose()
            break
        except SQLAlchemyError as exc:
            if attempt == LOG_TRIES - 1:
                first = str(exc).splitlines()[0]
                return f"published, but the publication log (reports) was not written: {first}"
            time.sleep(min(5.0, 0.5 * 2**attempt))
    if not kiosks or "all" in to:
        return None
    if any(k.gate in to or set(k.groups) & set(to) for k in kiosks):
        return None
    return f"no enrolled kiosk is at gate or in group {', '.join(to)}: check the spelling"


def _packs(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.delegation import published_offers
    from server.packs.signing import open_repository

    repo = open_repository(load_server_config(args.data))
    packs = published_offers(repo)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "pack": p.pack,
                        "version": p.version,
                        "to": list(p.to),
                        "published": p.published,
                        "target": p.path,
                    }
                    for p in packs
                ]
            )
        )
    else:
        for p in packs:
            print(f"{p.pack} v{p.version} -> {', '.join(p.to)} (published {p.published})")
        if not packs:
            print("no pack is published yet", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.export import export_pack
    from server.packs.signing import utcnow
    from server.packs.today import VIETNAM

    result = export_pack(
        load_server_config(args.data), args.pack, args.out, utcnow, valid_days=args.valid_days
    )
    _print(
        args,
        result.as_dict(),
        f"exported {result.pack.pack} version {result.pack.version} ({result.files} files, "
        f"{result.bytes / 1e6:.1f} MB) to {result.out}; import before "
        f"{result.expires.astimezone(VIETNAM):%d/%m/%Y %H:%M} (Vietnam time) with "
        f"`bgk kiosk import {result.out}`",
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.rotate import rotate_key
    from server.packs.signing import utcnow

    r = rotate_key(
        load_server_config(args.data),
        args.role,
        args.keys,
        utcnow,
        passphrases=_passphrases(args),
    )
    _audit_rotation(args.data, r.role, r.old_keyids, r.new_keyid, r.root_version)
    _print(
        args,
        {
            "ok": True,
            "role": r.role,
            "old_keyids": list(r.old_keyids),
            "new_keyid": r.new_keyid,
            "root_version": r.root_version,
            "key_file": str(r.key_file),
        },
        f"new {r.role} key {r.new_keyid[:16]} signed into root v{r.root_version}; "
        f"key file {r.key_file} (old key kept in {r.key_file.parent / 'retired'})",
    )
    return 0


def _audit_rotation(
    data: Path, role: str, old: tuple[str, ...], new: str, root_version: int
) -> None:
    """The rotation in the audit log: the key removed and the key added."""
    from server.audit import log as audit
    from server.config import load_server_config
    from server.packs.publications import cli_user
    from server.store import open_store

    store = open_store(load_server_config(data).store_url)
    try:
        details = {"removed": list(old), "added": new, "root_version": root_version}
        audit.append(store, cli_user(), "key.rotated", f"role:{role}", details, now=time.time())
    finally:
        store.dispose()


def _resign(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.rotate import resign
    from server.packs.signing import utcnow

    config = load_server_config(args.data)
    version = resign(config, args.role, args.keys, utcnow, _passphrases(args))
    print(f"re-signed {args.role} as version {version}")
    return 0
