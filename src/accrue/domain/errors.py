"""The errors Accrue raises on purpose, so every door can tell them from bugs.

A door (API, portal, CLI) shows these to the user as what to fix: `Refused` as invalid input
(HTTP 422), `Conflict` as refused by the state of the books (409), `NotFound` as no such
record in the caller's scope (404). Any other exception — a KeyError, the ledger's own
imbalance check — is a bug and surfaces as one (HTTP 500, logged).
"""

from __future__ import annotations


class Refused(ValueError):
    """Input, or a request, that the rules refuse; the message names the field first
    ("password: use at least …") where there is one."""


class Conflict(Refused):
    """Refused by the state of the books: a closed period, a decided approval, a paid batch."""


class NotFound(LookupError):
    """No such record, or one outside the caller's scope."""
