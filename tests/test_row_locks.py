"""Two people answering the same record at the same moment on PostgreSQL (issue 15, item 2):
the record's row is held by whoever reads it first, so one answer wins and the other is a
clear conflict — never two decisions, two answers, or two notices."""

from __future__ import annotations

import threading

import pytest
from apiclient import line_rows, open_api
from sqlalchemy import func, select
from test_notify import _who

from accrue.domain.approvals import ApprovalError
from accrue.domain.errors import Conflict
from accrue.domain.notices import NoticeKind
from accrue.store.approvals import decide_request
from accrue.store.disputes import resolve
from accrue.store.tables import DecisionRow, DisputeRow


def _at_once(*calls) -> list:
    """Each call on its own thread, released together; what each returned or raised."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def settled(books_settings):
    """Books on PostgreSQL with Q1 closed: one settlement for BOLT, submitted for approval,
    and a dispute BOLT opened about it."""
    api = open_api(books_settings)
    api.ok(
        api.post("fin", "/api/lines", json={"name": "q1", "lines": line_rows("BOLT", ["12000"])}),
        201,
    )
    api.ok(api.post("fin", "/api/recalc", json={}))
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    [settlement] = api.ok(api.get("fin", "/api/settlements"))["items"]
    api.request = api.ok(api.post("fin", f"/api/settlements/{settlement['id']}/submit"), 201)
    about = {"about": "settlement", "key": str(settlement["id"]), "reason": "a line is missing"}
    api.dispute = api.ok(api.post("bolt", "/api/disputes", json=about), 201)["id"]
    yield api
    api.client.__exit__(None, None, None)


@pytest.mark.parametrize("books_settings", ["postgres"], indirect=True)
def test_two_approvers_at_once_approve_once_and_the_second_is_told_why(settled):
    books, request = settled.books, settled.request["id"]
    answers = _at_once(
        lambda: decide_request(books.acting_as("abe"), request, True),
        lambda: decide_request(books.acting_as("amy"), request, True),
    )
    refused = [a for a in answers if isinstance(a, Exception)]
    assert len(refused) == 1, answers
    assert isinstance(refused[0], ApprovalError) and isinstance(refused[0], Conflict)
    assert "already approved" in str(refused[0])
    with books.session() as session:
        decisions = session.scalar(
            select(func.count()).select_from(DecisionRow).where(DecisionRow.request_id == request)
        )
    assert decisions == 1


@pytest.mark.parametrize("books_settings", ["postgres"], indirect=True)
def test_two_people_resolving_a_dispute_at_once_answer_it_once(settled):
    books, dispute = settled.books, settled.dispute
    answers = _at_once(
        lambda: resolve(books.acting_as("fin"), dispute, "the line is in Q2", None),
        lambda: resolve(books.acting_as("fay"), dispute, "already paid last year", None),
    )
    refused = [a for a in answers if isinstance(a, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict), answers
    assert f"dispute {dispute} is dismissed, not open" in str(refused[0])
    [won] = [a for a in answers if not isinstance(a, Exception)]
    with books.session() as session:
        stored = session.get(DisputeRow, dispute)
    assert (stored.resolved_by, stored.resolution) == (won.resolved_by, won.resolution)
    assert _who(settled, NoticeKind.DISPUTE_ANSWERED) == {"bolt": 1}
    answer = settled.post(
        "fin", f"/api/disputes/{dispute}/resolve", json={"resolution": "once more"}
    )
    assert answer.status_code == 409, answer.text
