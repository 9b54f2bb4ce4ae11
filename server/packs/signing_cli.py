"""Two-person publishing on the command line:

bgk server delegate --publisher A.pub.json --publisher B.pub.json [--threshold 2]
bgk keys person add NAME PUBKEY | remove NAME      (offline targets ceremonies)
bgk server signing create SRC --to GATE | list     (on the server)
bgk sign EVENT --server URL --key NAME.pem         (each publisher, own machine)
bgk sign EVENT --server URL --pkcs11-module LIB --token-label LABEL   (a key on a token)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from kiosk.common.cli import Registry
from kiosk.protocol.errors import UsageError
from server.packs.key_cli import token_key, token_options


def _data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="the server data folder")


def _keys(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keys", type=Path, help="offline keys folder (default: [tuf] offline_keys of server.toml)"
    )
    p.add_argument(
        "--passphrase-file", type=Path, help="file whose first line is the targets key's passphrase"
    )


def register(registry: Registry) -> None:
    p = registry.add(
        "server delegate",
        "offline ceremony, once: targets delegates the packs to the publishers' keys",
        _delegate,
    )
    _data(p)
    p.add_argument(
        "--publisher",
        type=Path,
        action="append",
        required=True,
        metavar="NAME.pub.json",
        help="a publisher's public key file (repeat; from `bgk keys person new`)",
    )
    p.add_argument(
        "--threshold",
        type=int,
        help="signatures needed for a pack (default: [tuf] publishers_threshold, 2)",
    )
    _keys(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add(
        "keys person add", "offline ceremony: a publisher's key joins the publishers", _add
    )
    p.add_argument("name", help="the publisher's account name")
    p.add_argument("pubkey", type=Path, help="their NAME.pub.json")
    _data(p)
    _keys(p)
    p = registry.add(
        "keys person remove",
        "offline ceremony: a publisher's key leaves (their signatures stop counting)",
        _remove,
    )
    p.add_argument("name", help="the publisher's account name")
    _data(p)
    _keys(p)

    registry.group("server signing", "signing events: pack versions waiting for signatures")
    p = registry.add(
        "server signing create",
        "freeze a pack's sources, build them, and wait for the publishers' signatures",
        _create,
    )
    p.add_argument("src", type=Path, help="the pack's source folder (content_packs/<pack>)")
    _data(p)
    p.add_argument("--to", action="append", required=True, metavar="GATE|GROUP|all")
    p.add_argument("--version", type=int, help="the version (default: pack.toml's)")
    p.add_argument("--by", help="who asks (default: the system account)")
    p.add_argument("--approved-by", action="append", default=[], metavar="NAME")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p = registry.add("server signing list", "signing events, newest first", _list)
    _data(p)
    p.add_argument("--json", action="store_true", help="print as JSON")

    p = registry.add(
        "sign",
        "sign a signing event with your personal key: rebuilds the pack here first",
        _sign,
    )
    p.add_argument("event", help="the signing event id (the server prints it)")
    p.add_argument("--server", required=True, help="the server's base URL")
    p.add_argument(
        "--token-file",
        type=Path,
        help="file holding your API token (default: $BGK_TOKEN)",
    )
    p.add_argument(
        "--key", type=Path, help="your personal key (NAME.pem), or a token: --pkcs11-module"
    )
    p.add_argument("--passphrase-file", type=Path, help="default: asked")
    token_options(p)
    p.add_argument("--yes", action="store_true", help="do not ask before signing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _passphrases(args: argparse.Namespace) -> Any:
    from server.packs.keyfile import Passphrases

    return Passphrases(args.passphrase_file)


def _clock() -> Any:
    from server.packs.signing import utcnow

    return utcnow


def _audit(data: Path, action: str, obj: str, details: dict[str, Any]) -> None:
    from server.audit import log as audit
    from server.config import load_server_config
    from server.packs.publications import cli_user
    from server.store import open_store

    store = open_store(load_server_config(data).store_url)
    try:
        audit.append(store, cli_user(), action, obj, details, now=time.time())
    finally:
        store.dispose()


def _delegate(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.delegation import delegate
    from server.packs.persons import load_public

    config = load_server_config(args.data)
    people = [load_public(path) for path in args.publisher]
    threshold = args.threshold or config.tuf.publishers_threshold
    done = delegate(config, people, threshold, args.keys, _clock(), _passphrases(args))
    _audit(args.data, "key.delegated", "role:publishers", done.as_dict())
    body = {"ok": True, **done.as_dict()}
    text = (
        f"targets now delegates the packs to {len(done.keys)} publishers "
        f"({', '.join(sorted(done.names.values()))}); {done.threshold} must sign each pack"
    )
    print(json.dumps(body) if args.json else text)
    if done.threshold < 2:
        print("bgk: warning: a threshold of 1 lets one person publish", file=sys.stderr)
    return 0


def _add(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.delegation import add_person
    from server.packs.persons import check_name, load_public

    _name, key = load_public(args.pubkey)
    done = add_person(
        load_server_config(args.data), check_name(args.name), key, args.keys, _clock(),
        _passphrases(args),
    )  # fmt: skip
    _audit(args.data, "key.added", f"publisher:{args.name}", {"keyid": key.keyid})
    print(f"{args.name} is a publisher (key {key.keyid[:16]}); {done.threshold} must sign a pack")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.delegation import remove_person

    done = remove_person(
        load_server_config(args.data), args.name, args.keys, _clock(), _passphrases(args)
    )
    _audit(args.data, "key.removed", f"publisher:{args.name}", done.as_dict())
    print(
        f"{args.name}'s key is revoked: kiosks stop counting its signatures with this targets "
        f"version; publishers left: {', '.join(sorted(done.names.values()))}"
    )
    return 0


def _create(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.fonts import default_cache_dir
    from server.packs.publications import cli_user
    from server.packs.signing_events import create_signing_event

    by = args.by or cli_user()
    event = create_signing_event(
        load_server_config(args.data), args.src, args.to, by, _clock(),
        version=args.version, approved_by=args.approved_by, font_cache=default_cache_dir(),
    )  # fmt: skip
    _audit(
        args.data, "signing.created", f"signing:{event.id}",
        {"pack": event.pack, "version": event.version, "to": list(event.to),
         "manifest_sha256": event.manifest_sha256},
    )  # fmt: skip
    text = (
        f"signing event {event.id}: {event.pack} version {event.version} for "
        f"{', '.join(event.to)} waits for the publishers; each runs\n"
        f"  bgk sign {event.id} --server URL --key NAME.pem"
    )
    print(json.dumps(event.as_dict()) if args.json else text)
    return 0


def _list(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.signing_events import list_events

    found = list_events(load_server_config(args.data))
    if args.json:
        print(json.dumps([e.as_dict() for e in found]))
        return 0
    for e in found:
        names = ", ".join(s["name"] for s in e.signatures.values()) or "nobody"
        print(f"{e.id}  {e.pack} v{e.version} -> {', '.join(e.to)}  {e.state}; signed: {names}")
    if not found:
        print("no signing event")
    return 0


def _open_signer(args: argparse.Namespace) -> Any:
    """What opens the signing key once the pack is checked: the key file, or the token."""
    on_token = token_key(args)
    if (on_token is None) == (args.key is None):
        raise UsageError(
            "say which key signs: --key NAME.pem, or a hardware token with --pkcs11-module "
            "LIB.so --token-label LABEL (not both)"
        )
    if on_token is not None:
        from server.packs.tokenkey import Pins, token_signer

        return lambda: token_signer(on_token, Pins(args.pin_file))
    from server.packs.persons import load_person_signer

    return lambda: load_person_signer(args.key, _passphrases(args))


def _sign(args: argparse.Namespace) -> int:
    from server.packs.fonts import default_cache_dir
    from server.packs.signer import Client, sign_event

    open_signer = _open_signer(args)
    if args.token_file is not None:
        token = args.token_file.read_text(encoding="utf-8").strip()
    else:
        token = os.environ.get("BGK_TOKEN", "")
    if not token:
        raise UsageError("no API token: pass --token-file FILE or set BGK_TOKEN")

    def confirm(question: str) -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError("cannot ask before signing (no terminal): pass --yes")
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes", "c", "có")

    def say(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout)

    result = sign_event(
        Client(args.server, token), args.event, open_signer,
        confirm=confirm, say=say, font_cache=default_cache_dir(),
    )  # fmt: skip
    if args.json:
        print(json.dumps(result))
    elif result.get("published"):
        print(
            f"signed; {len(result['signed_by'])} of {result['threshold']} signatures: "
            "the server has published it"
        )
    else:
        print(
            f"signed; {len(result['signed_by'])} of {result['threshold']} signatures "
            f"({', '.join(result['signed_by'])}): waiting for the others"
        )
    return 0
