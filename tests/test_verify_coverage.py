"""A record changed behind the application's back stays named by `accrue audit verify` after
the application goes on writing records of the same kind (an import, a new user, a token, a
claim, an approval, a close, a payout): sealing what a transaction wrote never seals the
tampering along with it. `accrue init` run again does not seal it either."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bookkeeping import add_program, close, lines_file, receive, sale, settlement, write_csv
from conftest import BACKENDS, fresh_settings
from test_audit import EDITS, behind_the_back, fill
from test_claims import (
    AGREEMENT,
    AGREEMENT_COLUMNS,
    E14,
    acme_fund_claim,
    approve,
    claim_rows,
    send,
)

from accrue.domain.approvals import Subject
from accrue.domain.ledger import PayoutMethod
from accrue.domain.permissions import Role
from accrue.store.approvals import submit_settlement
from accrue.store.audit import verify_books
from accrue.store.books import Books
from accrue.store.claims import import_agreements
from accrue.store.disputes import About, open_dispute
from accrue.store.master import import_master
from accrue.store.payouts import create_batch
from accrue.store.people import create_user, issue_token

# edits of records (not of the trail), each with the record verification must still name
# after later writes of the same kind (by name: a deleted record's id may be taken again);
# standings are recalculated from their lines, and test_audit shows a recalculation of one
# tree reseals no standing of another
LASTING = {
    **{
        edit: (EDITS[edit][0], named)
        for edit, named in {
            "a line's amount ×10": "lines of batch 5 ",
            "a line slipped in": "lines of batch 99 ",
            "a partner user made admin": "user 1 ",
            "a token slipped in": "token 99 ",
            "approval decisions deleted": "approval decision 1 ",
            "a claim inflated": "claim 1 ",
            "its approval request inflated": "approval request 1 ",
            "a partner renamed": "partner CORE ",
            "a product edited": "product V-100 ",
            "a batch's counts edited": "batch 5 ",
            "an agreement edited": "agreement SPA-1001/1 ",
            "a claim line edited": "claim line 1 ",
            "a fund draw edited": "fund draw 1 ",
            "a dispute edited": "dispute 1 ",
            "a settlement marked paid": "settlement 1 ",
            "a payout batch's total edited": "payout batch 1 ",
            "a payout item deleted": "payout item 1 ",
        }.items()
    },
    # renamed only: a changed rate would change what recalculations write, as it should
    "a program version's document edited": (
        [
            "UPDATE program_versions SET document = replace(document, 'Year to date', 'Ours')"
            " WHERE program_id = 'e8'"
        ],
        "program version e8/1 ",
    ),
    "a closed period edited": (
        ["UPDATE closed_periods SET actor = 'someone else'"],
        "closed period 2026-Q1 ",
    ),
}
NOVEMBER = datetime(2026, 11, 24, 12, tzinfo=UTC)


def go_on_working(books: Books, folder) -> None:
    """Ordinary work that writes every kind LASTING edits, none of it restating an edited
    record: a new partner and product, user and token, agreement, program, lines, a claim, a fund
    claim approved, a dispute, the next period closed and its settlement paid."""
    master = ("id", "name", "parent_id", "segment", "region")
    import_master(
        books, "partners", write_csv(folder / "p2.csv", master, [("DYNA", "Dyna", "", "", "")])
    )
    product = ("sku", "name", "category", "product_line")
    valve = ("Q-500", "Valve 500", "Gate valves", "Valves")
    import_master(books, "products", write_csv(folder / "q.csv", product, [valve]))
    create_user(books, "bolt-user", "Bolt buyer", Role.PARTNER, "correct horse 2", "BOLT")
    issue_token(books, "bolt-user", "integration")
    spa = ("SPA-1002", *AGREEMENT[1:])
    import_agreements(books, write_csv(folder / "spa2.csv", AGREEMENT_COLUMNS, [spa]))
    add_program(books, E14.replace("id: mdf", "id: mdf2"))
    receive(books, lines_file(folder / "q2.csv", [sale("B2", "2026-05-10", "300000", "BOLT")]))
    row = ("C-2", "2026-03-02", ("9002", "1", "100", "2026-02-10", "Acme Hospital"))
    send(books, folder, "claim2.csv", claim_rows(*row))
    in_q2 = Books.open(books.settings, clock=lambda: datetime(2026, 4, 16, tzinfo=UTC))
    approve(in_q2, acme_fund_claim(in_q2, "M-2", "100.00").id)
    in_q2.close()
    open_dispute(books, About.STANDING, "e8/BOLT/2026-Q2", "the May line is short")
    close(books, "2026-Q2")
    bolt = settlement(books, "e8", "BOLT", "2026-Q2")
    submit_settlement(books, bolt.id)
    approve(books, bolt.id, subject=Subject.SETTLEMENT)
    create_batch(books, PayoutMethod.CHECK, "USD", [bolt.id])


@pytest.fixture(scope="module", params=["embedded", "postgres"])
def problems_after_work(request, tmp_path_factory):
    """What verification says of books tampered with in every LASTING way, then worked on
    (once per backend: every case below reads the same answer)."""
    folder = tmp_path_factory.mktemp("books")
    with fresh_settings(request.param, folder) as settings:
        books = Books.init(settings, clock=lambda: NOVEMBER)
        fill(books, folder)
        with books.engine.begin() as connection:
            behind_the_back(books, connection, [s for edit in LASTING.values() for s in edit[0]])
        go_on_working(books, folder)
        yield verify_books(books).problems
        books.close()


@pytest.mark.parametrize("edit", LASTING)
def test_an_edit_is_still_named_after_the_books_are_worked_on(problems_after_work, edit):
    named = LASTING[edit][1]
    assert any(problem.startswith(named) for problem in problems_after_work), problems_after_work


@BACKENDS
def test_init_run_again_does_not_seal_what_was_edited(books, tmp_path):
    fill(books, tmp_path)
    edits = [LASTING[edit][0][0] for edit in ("a partner user made admin", "a line slipped in")]
    with books.engine.begin() as connection:
        behind_the_back(books, connection, edits)
    Books.init(books.settings).close()
    problems = verify_books(books).problems
    assert problems == [
        "lines of batch 99 are not sealed by any audit entry",
        "user 1 altered since it was sealed",
    ]
