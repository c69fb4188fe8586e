"""Payment files: ISO 20022 pain.001 credit transfers (built and checked against the
standard's schema by sepaxml), and CSV files for credit memos and checks.

A file names its batch in every identifier (message id `ACCRUE-B<batch>`, end-to-end id
`ACCRUE-S<settlement>`), so a bank that receives the same batch twice sees a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sepaxml import SepaTransfer

from accrue.export.cells import csv_text


@dataclass(frozen=True)
class Payee:
    settlement_id: int
    partner_id: str
    name: str
    amount: Decimal
    memo: str
    iban: str | None = None
    bic: str | None = None


@dataclass(frozen=True)
class Payer:
    name: str
    iban: str
    bic: str | None = None


class _Transfer(SepaTransfer):
    """sepaxml's transfer with our message id instead of a random one."""

    def __init__(self, config: dict, message_id: str):
        self._message_id = message_id
        super().__init__(config, schema="pain.001.001.03")

    def _create_header(self):
        self.msg_id = self._message_id
        super()._create_header()


def pain001(batch_id: int, currency: str, payer: Payer, payees: list[Payee], on: date) -> bytes:
    """A pain.001.001.03 credit transfer initiation, validated against its XSD."""
    config = {"name": payer.name, "IBAN": payer.iban, "batch": True, "currency": currency}
    if payer.bic:
        config["BIC"] = payer.bic
    transfer = _Transfer(config, f"ACCRUE-B{batch_id}")
    for payee in payees:
        transfer.add_payment(
            {
                "name": payee.name,
                "IBAN": payee.iban,
                "BIC": payee.bic,
                "amount": int(payee.amount.scaleb(2)),
                "execution_date": on,
                "description": payee.memo,
                "endtoend_id": f"ACCRUE-S{payee.settlement_id}",
            }
        )
    return transfer.export(validate=True)


def payees_csv(payees: list[Payee], currency: str, batch_id: int, kind: str) -> bytes:
    """Credit memos or checks to issue: one row a settlement, with a document number."""
    columns = [f"{kind}_number", "partner_id", "partner_name", "amount", "currency", "memo"]
    rows = (
        (
            f"{kind.upper()[:2]}-{batch_id}-{p.settlement_id}",
            p.partner_id,
            p.name,
            p.amount,
            currency,
            p.memo,
        )
        for p in payees
    )
    return csv_text(columns, rows).encode()
