"""`bgk pack import`, `pack pull`, `pack push` (the workspace from the command
line) and `bgk pack translated` (record that translations follow their source)."""

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

PULL_FILE = ".bgk-pull"


def register(registry: Registry) -> None:
    p = registry.add(
        "pack translated",
        "record that translations follow the source text as it is now (clears "
        "lint's stale-translation warnings)",
        _translated,
    )
    p.add_argument("src", type=Path, help="the pack's source folder")
    p.add_argument("--page", action="append", help="this page (repeat; default: every page)")
    p.add_argument("--lang", action="append", help="this language (repeat; default: all)")
    p.add_argument("--json", action="store_true", help="print what was recorded as JSON")

    p = registry.add(
        "pack import", "bring a pack folder into the server's workspace (its first version)",
        _import,
    )  # fmt: skip
    p.add_argument("folder", type=Path, help="the pack's source folder, e.g. content_packs/lao-bao")
    p.add_argument("--data", type=Path, required=True, help="the server data folder")
    p.add_argument("--as", dest="author", default="import", help="who the version is by")
    p.add_argument("-m", "--message", default="", help="the version's message")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = registry.add("pack pull", "download a pack's newest draft into a folder", _pull)
    p.add_argument("pack", help="the pack id, e.g. lao-bao")
    p.add_argument("-o", "--out", type=Path, required=True, help="the folder to write")
    _remote(p)

    p = registry.add(
        "pack push", "save a pulled folder as a new draft version (refused if lint fails)", _push
    )
    p.add_argument("folder", type=Path, help="a folder made by `bgk pack pull`")
    p.add_argument("-m", "--message", required=True, help="what you changed, in a few words")
    _remote(p)


def _remote(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", help="the server's URL (default: $BGK_SERVER, else the pull's)")
    p.add_argument(
        "--token",
        help="an API token of your account (default: $BGK_TOKEN; "
        "`bgk server token create --user NAME` makes one)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _translated(args: argparse.Namespace) -> int:
    from server.packs.findings import Findings
    from server.packs.source import load_source
    from server.packs.translation import mark_translated

    findings = Findings()
    src = load_source(args.src, findings)
    if not src.pages or not src.source_language:
        raise UsageError(f"{args.src}: pack.toml cannot be read; run `bgk pack lint` first")
    pages = args.page or [p.id for p in src.pages]
    langs = args.lang or [lang for lang in src.languages if lang != src.source_language]
    unknown = sorted(set(pages) - {p.id for p in src.pages})
    if unknown:
        raise UsageError(f"no page {', '.join(unknown)} in {args.src}/pack.toml")
    for lang in langs:
        if lang not in src.languages or lang == src.source_language:
            raise UsageError(f"{lang!r} is not a translated language of the pack")
    done: dict[str, list[str]] = {}
    for page in pages:
        here = [lang for lang in langs if (args.src / src.page_file(page, lang)).is_file()]
        if not (args.src / src.page_file(page, src.source_language)).is_file() or not here:
            continue
        mark_translated(args.src, page, here, src.source_language)
        done[page] = here
    if args.json:
        print(json.dumps({"ok": True, "source": src.source_language, "recorded": done}))
    else:
        for page, langs_done in done.items():
            print(f"pages/{page}: {', '.join(langs_done)} follow the {src.source_language} text")
    return 0


def _import(args: argparse.Namespace) -> int:
    from server.config import load_server_config
    from server.packs.today import vietnam_today
    from server.workspace.archive import pack_id_of, read_folder
    from server.workspace.checks import lint_files, refuse_unless_clean
    from server.workspace.drafts import DraftStore

    config = load_server_config(args.data)
    files = read_folder(args.folder)
    pack = pack_id_of(files)
    refuse_unless_clean(lint_files(files, today=vietnam_today()))
    drafts = DraftStore(config.data / "workspace")
    drafts.create(pack)
    message = args.message or f"Import {args.folder.name}"
    version = drafts.save(pack, files, author=args.author, message=message, base=None,
                          now=time.time(), replace_all=True)  # fmt: skip
    if args.json:
        print(json.dumps({"ok": True, "pack": pack, "version": version, "files": len(files)}))
    else:
        print(f"imported {pack} ({len(files)} files) as version {version[:10]}")
    return 0


def _client(args: argparse.Namespace, pulled: dict[str, Any] | None = None) -> tuple[str, Any]:
    import requests

    server = args.server or os.environ.get("BGK_SERVER") or (pulled or {}).get("server")
    token = args.token or os.environ.get("BGK_TOKEN")
    if not server:
        raise UsageError("which server? give --server URL (or set BGK_SERVER)")
    if not token:
        raise UsageError(
            "give --token (or set BGK_TOKEN): `bgk server token create --user NAME` makes one"
        )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return server.rstrip("/"), session


def _refused(response: Any) -> int:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:300] or f"HTTP {response.status_code}"}
    for f in body.get("findings", []):
        if f.get("level") == "error":
            line = f":{f['line']}" if f.get("line") else ""
            print(f"{f['file']}{line}: error: {f['message']} [{f['rule']}]", file=sys.stderr)
    print(f"bgk: {body.get('error')}", file=sys.stderr)
    return 1


def _pull(args: argparse.Namespace) -> int:
    from server.workspace.archive import unpack_archive

    out: Path = args.out
    pulled = _read_pull(out) if (out / PULL_FILE).is_file() else None
    server, http = _client(args, pulled)
    if out.exists() and any(out.iterdir()):
        if pulled is None or pulled.get("pack") != args.pack:
            raise UsageError(f"{out} is not empty: pull into a new folder")
        if _local_changes(out, http, pulled):
            raise UsageError(
                f"{out} has changes not pushed: `bgk pack push {out} -m ...` first "
                "(or pull into another folder)"
            )
    r = http.get(f"{server}/api/v1/workspace/{args.pack}/archive", timeout=120)
    if r.status_code != 200:
        return _refused(r)
    files = unpack_archive(r.content)
    version = r.headers["X-Version"]
    _replace_folder(out, files)
    _write_pull(out, {"server": server, "pack": args.pack, "version": version})
    if args.json:
        print(json.dumps({"ok": True, "pack": args.pack, "version": version, "files": len(files)}))
    else:
        print(f"pulled {args.pack} version {version[:10]} ({len(files)} files) into {out}")
    return 0


def _push(args: argparse.Namespace) -> int:
    from server.workspace.archive import pack_archive, read_folder

    if not (args.folder / PULL_FILE).is_file():
        raise UsageError(f"{args.folder} was not made by `bgk pack pull`: pull the pack first")
    pulled = _read_pull(args.folder)
    server, http = _client(args, pulled)
    data = pack_archive(read_folder(args.folder))
    r = http.post(
        f"{server}/api/v1/workspace/{pulled['pack']}/push",
        params={"base": pulled["version"], "message": args.message},
        data=data,
        headers={"Content-Type": "application/gzip"},
        timeout=300,
    )
    if r.status_code == 409:
        _refused(r)
        print("bgk: pull into another folder, carry your change over, push again",
              file=sys.stderr)  # fmt: skip
        return 1
    if r.status_code != 200:
        return _refused(r)
    version = r.json()["version"]
    _write_pull(args.folder, {**pulled, "version": version})
    if args.json:
        print(json.dumps({"ok": True, "pack": pulled["pack"], "version": version}))
    else:
        print(f"saved {pulled['pack']} version {version[:10]}")
    return 0


def _read_pull(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / PULL_FILE).read_text("utf-8"))
        assert isinstance(data, dict) and {"pack", "version"} <= set(data)
        return data
    except (OSError, ValueError, AssertionError):
        raise UsageError(f"{folder / PULL_FILE} is damaged: pull into a new folder") from None


def _write_pull(folder: Path, data: dict[str, Any]) -> None:
    from kiosk.common.files import atomic_write

    atomic_write(folder / PULL_FILE, (json.dumps(data, indent=1) + "\n").encode())


def _local_changes(folder: Path, http: Any, pulled: dict[str, Any]) -> bool:
    from dulwich.objects import Blob

    from server.workspace.archive import read_folder

    r = http.get(
        f"{pulled['server']}/api/v1/workspace/{pulled['pack']}/files",
        params={"rev": pulled["version"]}, timeout=60,
    )  # fmt: skip
    if r.status_code != 200:
        return True
    local = {p: Blob.from_string(d).id.decode() for p, d in read_folder(folder).items()}
    return bool(local != r.json()["files"])


def _replace_folder(out: Path, files: dict[str, bytes]) -> None:
    import shutil

    if out.exists():
        for child in out.iterdir():
            if child.name == PULL_FILE:
                continue
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for rel, data in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
