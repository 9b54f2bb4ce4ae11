"""Every error we raise to a person sits in the tree drawn at the top of its side's
errors module, and every server error has a fault the API can answer with."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.protocol.errors import BgkError, ProtocolError, UsageError
from server.errors import Conflict, NotFound, OperatorMustAct, RequestWrong, http_status

ROOT = Path(__file__).resolve().parents[2]

#: the modules whose docstring draws a tree, per side
TREES = {
    "kiosk": ("kiosk.protocol.errors", "kiosk.agent.errors", "kiosk.ui.errors"),
    "server": ("kiosk.protocol.errors", "server.errors", "server.packs.errors"),
}

#: imports every module of kiosk and server (but those that open a Kivy window or
#: only run under alembic), then prints every BgkError subclass found
_WALK = r"""
import importlib, json, pkgutil, sys
import kiosk, server
from kiosk.protocol.errors import BgkError
skipped = set(sys.argv[1:])
for pkg in (kiosk, server):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if info.name not in skipped:
            importlib.import_module(info.name)
def walk(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from walk(sub)
print(json.dumps(sorted({(c.__module__, c.__name__) for c in walk(BgkError)})))
"""


def _imports_kivy(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        if any(n == "kivy" or n.startswith("kivy.") for n in names):
            return True
    return False


def _not_importable_alone() -> dict[str, Path]:
    out = {"server.store.migrations.env": ROOT / "server/store/migrations/env.py"}
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        if _imports_kivy(path):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


@pytest.fixture(scope="module")
def every_error() -> list[tuple[str, str]]:
    skipped = _not_importable_alone()
    done = subprocess.run(
        [sys.executable, "-c", _WALK, *skipped],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = [(m, n) for m, n in json.loads(done.stdout.splitlines()[-1])]
    names = {name for _m, name in found} | {"BgkError", "Exception"}
    for module, path in skipped.items():  # what was not imported defines no error of ours
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                assert not bases & names, f"{module}.{node.name} is an error: import it here"
    return found


def _drawn(module: str) -> str:
    __import__(module)
    return sys.modules[module].__doc__ or ""


def test_every_bgk_error_is_drawn_in_its_sides_tree(every_error: list[tuple[str, str]]) -> None:
    assert len(every_error) > 40  # the walk really imported the parts
    missing = []
    for module, name in every_error:
        side = module.split(".")[0]
        drawings = " ".join(_drawn(m) for m in TREES[side])
        if not re.search(rf"\b{name}\b", drawings):
            missing.append(f"{module}.{name}")
    assert not missing, f"not drawn in the error tree of their side: {missing}"


def test_every_server_error_has_a_fault_the_api_maps(every_error: list[tuple[str, str]]) -> None:
    import importlib

    faults = (RequestWrong, OperatorMustAct, UsageError, ProtocolError)
    no_fault = []
    for module, name in every_error:
        if (module, name) == ("server.packs.errors", "PackError"):
            continue  # a grouping only, raised nowhere (checked below)
        if module.startswith("server."):
            cls = getattr(importlib.import_module(module), name)
            if not issubclass(cls, faults):
                no_fault.append(f"{module}.{name}")
    assert not no_fault, f"server errors with no fault (the API would answer 500): {no_fault}"
    raised = [p for p in (ROOT / "server").rglob("*.py") if "raise PackError(" in p.read_text()]
    assert not raised, f"PackError has no fault: raise one of its subclasses in {raised}"


def test_the_status_follows_the_fault_not_the_root() -> None:
    from server.fleet.mqtt import LinkError
    from server.packs.keys import SigningKeyError
    from server.packs.publish import PublishRefused

    assert http_status(UsageError("bad")) == 400
    assert http_status(NotFound("no kiosk")) == 404
    assert http_status(PublishRefused("already published")) == 400
    assert http_status(SigningKeyError("no targets key")) == 503
    assert http_status(LinkError("broker down")) == 503
    assert http_status(BgkError("no fault given")) == 500


def test_a_refused_notice_is_a_conflict_and_still_a_usage_error() -> None:
    from server.fleet.notice_check import NoticeGlyphsMissing

    assert issubclass(NoticeGlyphsMissing, Conflict) and issubclass(NoticeGlyphsMissing, UsageError)
    assert NoticeGlyphsMissing.exit_code == UsageError.exit_code
