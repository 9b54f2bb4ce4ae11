"""Two-person publishing in TUF terms: top-level `targets` (offline key) delegates
`packs/*` to the role `publishers`, whose keys are the publishers' personal
Ed25519 keys and whose threshold (default 2, `[tuf] publishers_threshold`) says
how many of them must sign a pack. The server's online keys (snapshot,
timestamp) sign no targets at all; the kiosks' python-tuf ngclient checks the
delegation and the threshold.

Offline ceremonies (the targets key, deploy/tuf-keys.md):

    delegate(...)        once: the delegation with its first publishers (migration)
    add_person(...)      a publisher's public key joins the role
    remove_person(...)   a publisher's key leaves: from the next targets version
                         on, kiosks no longer count its signatures

Pack targets published before the ceremony stay in top-level targets (kiosks
keep playing them); `bgk server publish` refuses once the delegation exists:
new versions go through signing events (signing_events.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from securesystemslib.signer import Key, SSlibKey
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, Targets

from kiosk.protocol.delivery import PackOffer
from kiosk.protocol.errors import UsageError
from server.config import ServerConfig
from server.errors import RequestWrong
from server.packs.errors import PackError
from server.packs.fileio import locked
from server.packs.keyfile import Passphrases
from server.packs.repo import PUBLISHERS, TufRepository
from server.packs.signing import load_signers

PATTERN: Final = "packs/*/*"
#: signed field of the delegated role: key id -> the publisher's name (for people)
NAMES_FIELD: Final = "x-bgk-names"


class DelegationError(PackError, RequestWrong):
    """The delegation is missing, or a ceremony would leave it unusable."""


@dataclass(frozen=True)
class Publishers:
    """The `publishers` role as top-level targets defines it."""

    threshold: int
    keys: dict[str, Key]
    names: dict[str, str]

    def name_of(self, keyid: str) -> str:
        return self.names.get(keyid, keyid[:16])

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "publishers": [
                {"name": self.name_of(k), "keyid": k} for k in sorted(self.keys, key=self.name_of)
            ],
        }


def publishers_of(targets: Targets) -> Publishers | None:
    """None when targets does not delegate (a deployment before the ceremony)."""
    delegations = targets.delegations
    if delegations is None or delegations.roles is None or PUBLISHERS not in delegations.roles:
        return None
    role = delegations.roles[PUBLISHERS]
    keys = {k: delegations.keys[k] for k in role.keyids if k in delegations.keys}
    raw = role.unrecognized_fields.get(NAMES_FIELD)
    names = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return Publishers(role.threshold, keys, names)


def delegated(repo: TufRepository) -> Publishers | None:
    return publishers_of(repo.targets())


def publishers_targets(repo: TufRepository) -> Targets | None:
    """The newest publishers metadata, or None before the first two-person publication."""
    if repo.path_of(PUBLISHERS) is None:
        return None
    md: Metadata[Targets] = repo.open(PUBLISHERS)
    return md.signed


def published_packs(targets: Targets) -> list[PackOffer]:
    """The pack versions one targets metadata offers, in publication order (seq)."""
    out = [
        PackOffer.from_target(t.path, t.length, t.hashes, t.unrecognized_fields.get("custom"))
        for t in targets.targets.values()
    ]
    return sorted((p for p in out if p is not None), key=lambda p: p.seq)


def published_offers(repo: TufRepository) -> list[PackOffer]:
    """Every published pack version: the legacy ones of top-level targets and those
    of the publishers role, in publication order (seq)."""
    offers = published_packs(repo.targets())
    signed = publishers_targets(repo)
    if signed is not None:
        offers += published_packs(signed)
    return sorted(offers, key=lambda p: p.seq)


def _role(publishers: Publishers) -> DelegatedRole:
    return DelegatedRole(
        name=PUBLISHERS,
        keyids=sorted(publishers.keys),
        threshold=publishers.threshold,
        terminating=True,
        paths=[PATTERN],
        unrecognized_fields={NAMES_FIELD: dict(sorted(publishers.names.items()))},
    )


def _check(publishers: Publishers) -> None:
    if publishers.threshold < 1:
        raise UsageError("the threshold is at least 1 (2 for two-person publishing)")
    if len(publishers.keys) < publishers.threshold:
        raise DelegationError(
            f"{len(publishers.keys)} publisher key(s) cannot reach a threshold of "
            f"{publishers.threshold}: add publishers first (`bgk keys person add`), or lower "
            "the threshold"
        )


def _write(
    config: ServerConfig,
    keys_dir: Any,
    now: Callable[[], datetime],
    passphrases: Passphrases | None,
    change: Callable[[Publishers | None], Publishers],
) -> Publishers:
    signers = load_signers(config, ("targets", "snapshot", "timestamp"), keys_dir, passphrases)
    repo = TufRepository(config.tuf_dir, config.tuf, signers, now)
    with locked(repo.dir / ".lock"):
        with repo.edit_targets() as targets:
            new = change(publishers_of(targets))
            _check(new)
            targets.delegations = Delegations(keys=dict(new.keys), roles={PUBLISHERS: _role(new)})
        repo.publish_metadata()
    return new


def delegate(
    config: ServerConfig,
    people: Sequence[tuple[str, SSlibKey]],
    threshold: int,
    keys_dir: Any,
    now: Callable[[], datetime],
    passphrases: Passphrases | None = None,
) -> Publishers:
    """The migration ceremony: top-level targets delegates packs/* to `people`."""

    def change(current: Publishers | None) -> Publishers:
        if current is not None:
            raise DelegationError(
                "targets already delegates the packs to publishers: add or remove people "
                "with `bgk keys person add|remove`"
            )
        keys: dict[str, Key] = {key.keyid: key for _name, key in people}
        if len(keys) != len(people):
            raise UsageError("the same public key was given twice")
        names = {key.keyid: name for name, key in people}
        if len(set(names.values())) != len(names):
            raise UsageError("two publishers have the same name")
        return Publishers(threshold, keys, names)

    return _write(config, keys_dir, now, passphrases, change)


def add_person(
    config: ServerConfig,
    name: str,
    key: SSlibKey,
    keys_dir: Any,
    now: Callable[[], datetime],
    passphrases: Passphrases | None = None,
) -> Publishers:
    def change(current: Publishers | None) -> Publishers:
        if current is None:
            raise DelegationError(
                "targets does not delegate the packs yet: run the ceremony first "
                "(`bgk server delegate`, deploy/tuf-keys.md)"
            )
        if key.keyid in current.keys:
            raise UsageError(f"this key is already {current.name_of(key.keyid)}'s")
        if name in current.names.values():
            raise UsageError(
                f"{name} already has a key: remove it first (`bgk keys person remove {name}`)"
            )
        return Publishers(
            current.threshold,
            {**current.keys, key.keyid: key},
            {**current.names, key.keyid: name},
        )

    return _write(config, keys_dir, now, passphrases, change)


def remove_person(
    config: ServerConfig,
    name: str,
    keys_dir: Any,
    now: Callable[[], datetime],
    passphrases: Passphrases | None = None,
) -> Publishers:
    def change(current: Publishers | None) -> Publishers:
        if current is None:
            raise DelegationError("targets does not delegate the packs: nobody to remove")
        gone = [k for k, n in current.names.items() if n == name]
        if not gone:
            raise UsageError(
                f"no publisher {name!r}: they are {', '.join(sorted(current.names.values()))}"
            )
        keys = {k: v for k, v in current.keys.items() if k not in gone}
        names = {k: v for k, v in current.names.items() if k not in gone}
        return Publishers(current.threshold, keys, names)

    return _write(config, keys_dir, now, passphrases, change)
