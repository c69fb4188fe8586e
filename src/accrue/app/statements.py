"""Statement runs: a period's PDF statements for every partner (or the partners asked for),
rendered by a background job through accrue.export.statements and kept in the data folder's
`statements/<run>/`, one file a partner, as issued that day. The job's result lists them; the
API and the portal serve each file to staff and to the partner it is about, never to another
partner (the doors check the caller's scope before asking for a file here)."""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

from sqlalchemy import select

from accrue.app.books import Progress
from accrue.domain.errors import NotFound, Refused
from accrue.domain.periods import Period
from accrue.export.statements import names_for, render
from accrue.store import jobs
from accrue.store.books import Books
from accrue.store.statements import statement
from accrue.store.tables import PartnerRow

KIND = "statements"
RUN = re.compile(r"^[0-9a-f]{16}$")  # a run's folder: made here, never taken from a request


def params(books: Books, label: str, partners: list[str] | None) -> dict:
    """What a statement run is queued with, checked now (a bad period or an unknown partner
    is refused to the person asking, not left to a failed job): its own folder too."""
    period = Period.parse(label).label
    wanted = sorted(set(partners)) if partners else None
    if wanted:
        unknown = sorted(set(wanted) - set(_partners(books, wanted)))
        if unknown:
            raise NotFound(f"no partner {', '.join(unknown)}")
    return {"period": period, "partners": wanted, "run": secrets.token_hex(8)}


def issue(books: Books, asked: dict, progress: Progress) -> dict:
    """The job: each partner's statement rendered and kept, progress after each one."""
    label, folder = asked["period"], _folder(books, asked["run"])
    partners = asked.get("partners") or _partners(books)
    folder.mkdir(parents=True, exist_ok=True)
    issued = []
    for done, partner_id in enumerate(partners):
        progress(done, len(partners), f"statement of {partner_id}")
        issued.append(_kept(books, folder, partner_id, label))
    progress(len(partners), len(partners), f"{len(partners)} statement(s) written")
    summary = f"{len(issued)} statement(s) for {label}"
    return {"summary": summary, "period": label, "statements": issued}


def _kept(books: Books, folder: Path, partner_id: str, label: str) -> dict:
    """One statement rendered and written whole (a reader never sees half a file)."""
    found = statement(books, partner_id, label)
    content = render(found, names_for(books, found))
    path = folder / _file_name(partner_id)
    partial = path.with_suffix(".part")
    partial.write_bytes(content)
    os.replace(partial, path)
    return {"partner_id": partner_id, "partner": found.partner_name, "bytes": len(content)}


def issued(books: Books, job_id: int, partner_id: str) -> tuple[str, bytes]:
    """The file a done statement run kept for `partner_id`, and the name it is saved as."""
    job = jobs.get(books, job_id)
    result = json.loads(job.result) if job.result else {}
    kept = {s["partner_id"] for s in result.get("statements", [])}
    if job.kind != KIND or job.status != jobs.DONE or partner_id not in kept:
        raise NotFound(f"no statement of {partner_id} in job {job_id}")
    run = json.loads(job.params)["run"]
    content = (_folder(books, run) / _file_name(partner_id)).read_bytes()
    return f"statement-{partner_id}-{result['period']}.pdf", content


def _folder(books: Books, run: str) -> Path:
    if not RUN.match(run):
        raise Refused(f"run: not a statement run ({run!r})")
    return books.settings.data_dir / "statements" / run


def _file_name(partner_id: str) -> str:
    """Partner ids are the master data's: hex-encoded, no id can name a path elsewhere."""
    return f"{partner_id.encode().hex()}.pdf"


def _partners(books: Books, among: list[str] | None = None) -> list[str]:
    """Every partner's id (or those of `among` that exist), in order."""
    query = select(PartnerRow.id).order_by(PartnerRow.id)
    if among is not None:
        query = query.where(PartnerRow.id.in_(among))
    with books.session() as session:
        return list(session.scalars(query))
