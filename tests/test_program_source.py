"""The program editor shows each version as its author wrote it — comments, order, defaults
left out — not the normalised document the books compute from; the source is kept with the
version, sealed like it, whichever door imported it (API, portal, CLI)."""

from __future__ import annotations

import html

import pytest
from apiclient import PROGRAM, open_api
from test_portal import _csrf, signed_in
from typer.testing import CliRunner

from accrue.cli import app
from accrue.settings import Settings
from accrue.store.audit import verify_books
from accrue.store.books import Books
from accrue.store.tables import ProgramSourceRow

WRITTEN = """# Q4 push, agreed with sales on 2026-10-01
id: push-q4
name: Q4 push
period: quarter   # settled each quarter
effective: {from: 2026-01-01, to: 2026-12-31}
measure: amount
tiers:
  - {name: Silver, from: 10000, rate: 2%}
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("source") / "books", actor="t"))
    yield api
    api.client.__exit__(None, None, None)


def _editor(browser, program_id: str) -> str:
    page = browser.get(f"/admin/programs?edit={program_id}").text
    return html.unescape(page.split("<textarea", 1)[1].split(">", 1)[1].split("</textarea>")[0])


def test_the_editor_shows_the_program_as_written_through_the_api(api):
    api.ok(api.yaml("pam", "/api/programs", WRITTEN))
    shown = _editor(signed_in(api, "pam"), "push-q4")
    assert shown.strip() == WRITTEN.strip()
    assert "takes_effect" not in shown and "skus: []" not in shown


def test_a_version_saved_in_the_portal_is_shown_as_saved_and_sealed(api):
    pam = signed_in(api, "pam")
    form = pam.get("/admin/programs?edit=volume-q").text
    assert _editor(pam, "volume-q").strip() == PROGRAM.strip()  # as the API received it
    changed = "# Gold from 40,000 from Q1 2027 on\n" + PROGRAM.replace("50000", "40000")
    saved = pam.post("/admin/programs", data={"document": changed, "csrf": _csrf(form)})
    assert saved.status_code == 303
    assert _editor(pam, "volume-q") == changed
    assert verify_books(api.books).ok  # the kept source is sealed with the records


def test_programs_imported_from_files_keep_their_text(tmp_path):
    books = tmp_path / "books"
    (tmp_path / "push.yaml").write_text(WRITTEN, encoding="utf-8")
    for args in (["init"], ["import", "programs", str(tmp_path / "push.yaml"), "--no-recalculate"]):
        result = CliRunner().invoke(app, ["--data-dir", str(books), *args])
        assert result.exit_code == 0, result.output
    opened = Books.open(Settings(data_dir=books))
    with opened.session() as session:
        kept = session.get(ProgramSourceRow, ("push-q4", 1))
    assert kept is not None and kept.source == WRITTEN
    assert verify_books(opened).ok
    opened.close()
