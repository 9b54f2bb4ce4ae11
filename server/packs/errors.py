"""Errors of the pack tools, by who must act:

BgkError (kiosk.protocol.errors)
└── PackError                 something about packs stopped the command
    │                         (each also has its fault in server.errors, which the
    │                         API maps to a status: RequestWrong 400, OperatorMustAct 503)
    ├── PackSourceError       RequestWrong: the editor's sources are wrong: fix the listed files
    ├── OutputError           RequestWrong: the output folder cannot be used: pick another
    ├── SiteError (server.packs.site)
    │                         RequestWrong: not a built pack, or a broken file in it
    ├── PublishRefused (server.packs.publish)
    │                         RequestWrong: older version, bad audience, bad pack
    ├── BlobMismatchError (server.packs.fileio)
    │                         RequestWrong: a built pack's file differs from its manifest:
    │                         build the pack again
    ├── FontMissingError      OperatorMustAct: the build machine lacks a font: install it
    ├── RepositoryError (server.packs.repo)
    │                         OperatorMustAct: the TUF repository folder is missing,
    │                         damaged, or lacks a key it needs
    ├── SigningKeyError (server.packs.keys)
    │                         OperatorMustAct: a signing key is missing or unreadable
    │   two-person publishing (deploy/tuf-keys.md), all RequestWrong: the person fixes it
    ├── PassphraseError (server.packs.keyfile)     wrong or missing passphrase for a key
    ├── PersonKeyError (server.packs.persons)      a publisher's key file is not one
    ├── TokenError (server.packs.tokenkey)         a hardware token, its module, PIN or key
    ├── DelegationError (server.packs.delegation)  a ceremony step that cannot be done
    ├── ReviewError (server.packs.reviews)         a review request or decision that cannot be
    │   │                                          done (the workspace's reviews, issue 13)
    │   ├── NoSuchReview                           NotFound 404
    │   ├── IllegalMove                            Conflict 409: not from this state
    │   ├── SelfApproval                           Forbidden 403: two-person policy
    │   └── ReviewBuildChanged                     the build differs from what was reviewed
    ├── SigningEventError (server.packs.signing_events)
    │                                              no such event, or a signature refused
    └── SignRefused (server.packs.signer)          `bgk sign` will not sign: the rebuild
                                                   differs, or the person said no
"""

from __future__ import annotations

from kiosk.protocol.errors import BgkError
from server.errors import OperatorMustAct, RequestWrong
from server.packs.findings import Finding


class PackError(BgkError):
    pass


class PackSourceError(PackError, RequestWrong):
    def __init__(self, message: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.findings = findings or []


class FontMissingError(PackError, OperatorMustAct):
    pass


class OutputError(PackError, RequestWrong):
    pass
