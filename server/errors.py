"""Errors of the server, by who is at fault (and so the HTTP status the API answers):

    BgkError (kiosk.protocol.errors)           a sentence for a person: what, and what to do
    ├── UsageError (kiosk.protocol.errors)     400  the request or command line is wrong
    │   └── NoticeGlyphsMissing (server.fleet.notice_check)
    │                                          409  some kiosks cannot draw the notice:
    │                                               change it, or send it anyway
    ├── ProtocolError (kiosk.protocol.errors)  400  a payload breaks the wire contract
    ├── RequestWrong                           400  the request is wrong: fix it, send again
    │   ├── NotFound                           404  no such kiosk, pack version, notice, screenshot
    │   ├── Forbidden                          403  this account may not do that
    │   ├── Conflict                           409  it clashes with what is already there
    │   ├── AccountError (server.web.accounts)      no such user, name taken, weak password
    │   ├── RegistryError (server.broker.registry)  an enrolment change the registry refuses
    │   ├── DraftError (server.workspace.drafts)    a workspace request that cannot be done
    │   │   ├── NoSuchPack, NoSuchVersion          404 (also NotFound)
    │   │   ├── Conflict (drafts)                  409 someone else saved the same file
    │   │   ├── LintRefused (server.workspace.checks)   a push that fails lint
    │   │   ├── UploadRefused (server.workspace.uploads) a picture over the limits
    │   │   └── PreviewFailed (server.workspace.preview) the page could not be drawn
    │   └── (pack errors the editor or publisher fixes, see server.packs.errors)
    │       PackSourceError, OutputError, SiteError, PublishRefused, BlobMismatchError
    └── OperatorMustAct                        503  this server is not set up or a part is
        │                                           down: the operator must act, not the caller
        ├── LinkError (server.fleet.mqtt)           the MQTT broker is down or refused us
        ├── BrokerError (server.broker.local)       the local Mosquitto did not start
        ├── BrokerFilesError (server.broker.files)  a broker file cannot be written here
        ├── StoreCopyError (server.ops.storecopy)   the store could not be copied or loaded
        ├── DemoError (server.demo)                 a part of the demo did not come up
        └── (pack errors the operator fixes, see server.packs.errors)
            FontMissingError, RepositoryError, SigningKeyError

Outside the tree, also by fault: the fleet database not answering (SQLAlchemy's
OperationalError and kin) is 503 (server.web.app `STORE_DOWN`); anything else,
including a `BgkError` that names no fault, is our bug: 500, logged with its traceback.

The API maps an error to its status by its class alone (`http_status`, used by
server.web.api's handlers); the `bgk` console prints the sentence and exits with
`exit_code`. Pack errors also stay under `PackError` (server.packs.errors), so a
pack command can catch them all: they inherit their fault from here.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from kiosk.protocol.errors import BgkError, ProtocolError, UsageError

log = logging.getLogger(__name__)


class RequestWrong(BgkError):
    """The request is wrong: the message says how to fix it."""

    http_status: ClassVar[int] = 400


class NotFound(RequestWrong):
    """No such kiosk, pack version, notice or screenshot."""

    http_status = 404


class Forbidden(RequestWrong):
    """The account may not do this (its role is too low)."""

    http_status = 403


class Conflict(RequestWrong):
    """The request clashes with what is already there: change it or override."""

    http_status = 409


class OperatorMustAct(BgkError):
    """A key is missing, the broker or the store is down: the operator must act."""

    http_status: ClassVar[int] = 503


#: the two shared roots that live in kiosk.protocol (which knows nothing of HTTP)
_SHARED: dict[type[BgkError], int] = {UsageError: 400, ProtocolError: 400}


def http_status(exc: BgkError) -> int:
    """The status the API answers for `exc`: the nearest class of its MRO that
    declares one (a fault of this tree first, then UsageError/ProtocolError), else
    500: an error with no fault is a bug to classify."""
    mro = type(exc).__mro__
    for cls in mro:
        status = cls.__dict__.get("http_status")
        if isinstance(status, int):
            return status
    for cls in mro:
        if cls in _SHARED:
            return _SHARED[cls]
    log.error("an error with no fault reached the API: %r", exc, exc_info=exc)
    return 500
