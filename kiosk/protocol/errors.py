"""Base of every error tree in the project.

Each part documents its own tree (by who is at fault) at the top of one
module and roots it here, so that `bgk` can print any of them as one line:

    BgkError                      anything we report to a person
    ├── UsageError                the command was given bad arguments
    ├── ProtocolError             a payload or manifest breaks the contract
    │   ├── TopicError            an MQTT topic that is not ours (kiosk.protocol.topics)
    │   └── PayloadError          a message that is not valid JSON of its kind
    │       └── PayloadTooLarge   a message over its size limit (kiosk.protocol.payloads)
    └── (part trees)              server.errors (and server.packs.errors),
                                  kiosk.agent.errors, kiosk.ui.errors
"""

from __future__ import annotations


class BgkError(Exception):
    """An error meant for a person: the message says what went wrong and what to do."""

    exit_code = 1


class UsageError(BgkError):
    """Bad arguments or configuration given by the user."""

    exit_code = 2


class ProtocolError(BgkError):
    """A manifest, page document or message that breaks the contract."""
