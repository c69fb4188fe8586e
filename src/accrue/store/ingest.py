"""Line batches: received once and only once, bad rows kept in quarantine, never dropped.

A line is identified by (source, document, line) and carries a revision (1 if not given):
- the same line and revision again, with the same content, is a duplicate and changes nothing;
- a higher revision supersedes the current one explicitly (both are kept, with their batches);
- a lower revision than the current one is kept as history, already superseded;
- the same line and revision with different content is rejected: a correction needs a higher
  revision, so results never depend on the order in which batches arrive (rule 13).
A file that cannot be read at all is refused whole; otherwise good rows are kept and every bad
row goes to quarantine with its file, row, field, value and reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select, update

from accrue.domain.audit import canonical
from accrue.domain.identifiers import check_text
from accrue.export.cells import csv_text
from accrue.ingest.edi import lines_from_867, x12_text
from accrue.ingest.errors import InputError, Problem
from accrue.ingest.lines import (
    LINE_COLUMNS,
    OPTIONAL,
    Rejection,
    check,
    normalized,
    register_known,
    rejections,
)
from accrue.ingest.tabular import json_rows
from accrue.store.books import Books
from accrue.store.lines import KEY, STORED_SCHEMA
from accrue.store.pending import mark_for_recalc
from accrue.store.tables import Batch, PartnerRow, ProductRow, RejectedRow


def failpoint(name: str) -> None:
    """Crash tests stop the process here (ACCRUE_FAILPOINT=name) to prove the books hold."""
    if os.environ.get("ACCRUE_FAILPOINT") == name:
        print(f"failpoint {name} reached", file=sys.stderr, flush=True)
        time.sleep(3600)


@dataclass(frozen=True)
class Received:
    batch: Batch
    rejections: list[Rejection]

    @property
    def summary(self) -> str:
        b = self.batch
        return (
            f"batch {b.id} ({b.source_name}): {b.received} received, {b.accepted} accepted "
            f"({b.corrected} corrections, {b.outdated} outdated), {b.duplicate} duplicate, "
            f"{b.rejected} rejected"
        )


def import_lines(books: Books, path: Path, name: str | None = None) -> Received:
    """A lines file: CSV, Excel, Parquet, JSON, or an X12 867 resale report; `name` is what
    the books call it, and its problems too (its path when not given)."""
    try:
        content = path.read_bytes() if path.is_file() else b""
        table = None
        text = x12_text(content, path.name) if path.is_file() else None
        if text is not None:
            table = json_rows(lines_from_867(text, path.name), path)
        return _receive(books, path, name or str(path), hashlib.sha256(content).hexdigest(), table)
    except InputError as refused:
        raise refused.naming(path, name) if name else refused from None


def import_payload(books: Books, name: str, document) -> Received:
    """A JSON payload (the API's): a list of line objects, or {"lines": [...]}."""
    check_text("name", name)
    digest = hashlib.sha256(canonical(document).encode()).hexdigest()
    return _receive(books, Path(name), name, digest, json_rows(document, name))


def _receive(books: Books, path: Path, name: str, digest: str, table: pa.Table | None) -> Received:
    with books.loading() as claim:
        return _load(books, path, name, digest, table, claim)


def _load(
    books: Books, path: Path, shown: str, digest: str, table: pa.Table | None, claim
) -> Received:
    with books.session() as session:  # the batch exists, as loading, before any line is kept
        batch = Batch(
            kind="lines",
            source_name=shown,
            file_digest=digest,
            status="loading",
            received_at=books.now(),
            actor=books.settings.actor,
        )
        session.add(batch)
        session.flush()
        claim(batch.id)
        known = (
            session.scalars(select(PartnerRow.id)).all(),
            session.scalars(select(ProductRow.sku)).all(),
        )
    raw = books.line_store.staging
    register_known(raw, *known)
    name = f"batch_{batch.id}"
    try:
        try:
            batch.received = check(raw, path, name, table)
        except InputError as error:
            named = error.naming(path, shown)
            _refuse(books, batch, named)
            raise named from None
        return _keep(books, batch, path, name)
    finally:
        raw.execute(f"DROP VIEW IF EXISTS {name}_judged")
        raw.execute("DROP TABLE IF EXISTS stored_versions")
        for suffix in ("_checked", "_good", "_repeated", "_copies", "_joined", "_newest"):
            raw.execute(f"DROP TABLE IF EXISTS {name}{suffix}")


def _refuse(books: Books, batch: Batch, error: InputError) -> None:
    with books.session() as session:
        batch = session.merge(batch)
        batch.status = "refused"
        batch.message = str(error)
        books.audit(session, "refused", "batch", str(batch.id), after={"reason": str(error)})


def _keep(books: Books, batch: Batch, path: Path, name: str) -> Received:
    raw = books.line_store.staging
    bad = rejections(raw, path, name)
    _copies_in_file(raw, name, batch.id)
    bad += _conflicts_in_file(raw, path, name)
    with books.session() as session:
        records = session.connection()
        books.line_store.stage_versions(
            f"SELECT DISTINCT {', '.join(KEY)} FROM {name}_good", records
        )
        _judge(raw, name, batch.id)
        bad += _conflicts_with_store(raw, path, name)
        accepted = f"SELECT {', '.join(STORED_SCHEMA.names)} FROM {name}_judged"
        books.line_store.write(
            batch.id,
            f"{accepted} WHERE outcome = 'accepted'",
            f"SELECT {', '.join(KEY)} FROM {name}_judged WHERE replaces",
            records,
        )
        failpoint("ingest:lines-written")
        batch = session.merge(batch)
        _count(raw, name, batch, bad)
        _quarantine(session, batch.id, bad)
        _resolve(session, raw, name, batch.id)
        roots = _touched_roots(session, raw, name)
        mark_for_recalc(session, roots)
        batch.status = "committed"
        books.audit(
            session,
            "import",
            "lines",
            str(batch.id),
            after={**_batch_summary(batch, roots), "lines": _sealed(books, records, batch.id)},
            inputs_digest=batch.file_digest,
        )
    return Received(batch, bad)


def _sealed(books: Books, records, batch_id: int) -> dict[str, str]:
    """The batch's lines digest, for its audit entry (nothing for a batch that kept none)."""
    return {str(b): d for b, d in books.line_store.digests(records, batch_id).items()}


def _copies_in_file(raw, name: str, batch_id: int) -> None:
    """The good rows as typed lines with their content digest (`{name}_good`), and the few
    whose line appears more than once in the file (`{name}_copies`): each copy of a line and
    revision numbered, and whether its copies disagree. Grouping finds the repeated lines, so
    only those are sorted."""
    content = "kind, partner_id, sku, date, quantity_milli, amount_micros, currency"
    keys = ", ".join(KEY)
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_good AS SELECT *, {int(batch_id)}::BIGINT AS "
        f"batch_id, md5(concat_ws('|', {content})) AS row_digest FROM ({normalized(name)})"
    )
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_repeated AS SELECT {keys} FROM {name}_good "
        "GROUP BY ALL HAVING count(*) > 1"
    )
    copy = f"PARTITION BY {keys}, revision"
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_copies AS SELECT file_line, {keys}, revision, "
        f"row_number() OVER ({copy} ORDER BY file_line) AS copy, "
        f"min(row_digest) OVER ({copy}) <> max(row_digest) OVER ({copy}) AS conflicting, "
        f"min(file_line) OVER ({copy}) AS first_line "
        f"FROM {name}_good SEMI JOIN {name}_repeated USING ({keys})"
    )


def _conflicts_in_file(raw, path: Path, name: str) -> list[Rejection]:
    rows = raw.execute(
        f"SELECT file_line, source, document, line_no, revision, first_line FROM {name}_copies "
        "WHERE conflicting ORDER BY file_line"
    ).fetchall()
    return [
        Rejection(
            Problem(
                str(path),
                line,
                "line_no",
                str(line_no),
                f"line {source}/{document}/{line_no} revision {revision} appears with different "
                f"content in this file (first on row {first}): send one, or a higher revision",
            ),
            {"source": source, "document": document, "line_no": line_no, "revision": revision},
        )
        for line, source, document, line_no, revision, first in rows
    ]


def _judge(raw, name: str, batch_id: int) -> None:
    """Each first copy against the stored versions of its line: duplicate, conflict or
    accepted (`{name}_joined`); an accepted row is current if it is the newest revision
    anywhere (`{name}_judged`). Only lines repeated in the file can have a newer revision in
    it, so the newest is grouped over those alone."""
    on = " AND ".join(f"{{t}}.{c} = g.{c}" for c in KEY)
    keys = ", ".join(KEY)
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_joined AS "
        "SELECT g.*, same.batch_id AS same_batch, "
        "  cur.revision AS cur_revision, cur.batch_id AS cur_batch, "
        "  cur.partner_id AS cur_partner, "
        "  CASE WHEN same.row_digest IS NULL THEN 'accepted' "
        "  WHEN same.row_digest = g.row_digest THEN 'duplicate' ELSE 'conflict' END AS outcome "
        f"FROM {name}_good AS g "
        f"LEFT JOIN stored_versions AS same ON {on.format(t='same')} "
        "  AND same.revision = g.revision "
        f"LEFT JOIN stored_versions AS cur ON {on.format(t='cur')} "
        "  AND cur.superseded_by IS NULL "
        f"WHERE g.file_line NOT IN (SELECT file_line FROM {name}_copies "
        "  WHERE copy > 1 OR conflicting)"
    )
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_newest AS SELECT {keys}, max(revision) AS newest "
        f"FROM {name}_joined SEMI JOIN {name}_repeated USING ({keys}) "
        "WHERE outcome = 'accepted' GROUP BY ALL"
    )
    raw.execute(
        f"CREATE OR REPLACE TEMP VIEW {name}_judged AS "
        "WITH newest AS ("
        "  SELECT j.*, coalesce(n.newest, CASE WHEN outcome = 'accepted' THEN revision END) "
        f"  AS newest FROM {name}_joined AS j LEFT JOIN {name}_newest AS n USING ({keys})) "
        "SELECT *, "
        "  outcome = 'accepted' AND revision = newest "
        "  AND revision > coalesce(cur_revision, 0) AS current, "
        "  outcome = 'accepted' AND revision = newest AND cur_revision IS NOT NULL "
        "  AND revision > cur_revision AS replaces, "
        "  CASE WHEN outcome <> 'accepted' OR (revision = newest "
        "    AND revision > coalesce(cur_revision, 0)) THEN NULL "
        f"  WHEN newest > coalesce(cur_revision, 0) THEN {int(batch_id)} "
        "  ELSE cur_batch END::BIGINT AS superseded_by "
        "FROM newest"
    )


def _conflicts_with_store(raw, path: Path, name: str) -> list[Rejection]:
    rows = raw.execute(
        "SELECT file_line, source, document, line_no, revision, same_batch, "
        f"greatest(revision, cur_revision) FROM {name}_judged "
        "WHERE outcome = 'conflict' ORDER BY file_line"
    ).fetchall()
    return [
        Rejection(
            Problem(
                str(path),
                line,
                "revision",
                str(revision),
                f"line {source}/{document}/{line_no} revision {revision} was received in batch "
                f"{batch} with different content: send the correction as revision {newest + 1}",
            ),
            {"source": source, "document": document, "line_no": line_no, "revision": revision},
        )
        for line, source, document, line_no, revision, batch, newest in rows
    ]


def _count(raw, name: str, batch: Batch, bad: list[Rejection]) -> None:
    accepted, corrected, outdated, duplicate = raw.execute(
        "SELECT count(*) FILTER (WHERE outcome = 'accepted'), count(*) FILTER (WHERE replaces), "
        "count(*) FILTER (WHERE outcome = 'accepted' AND NOT current), "
        f"count(*) FILTER (WHERE outcome = 'duplicate') FROM {name}_judged"
    ).fetchone()
    copies = raw.execute(
        f"SELECT count(*) FROM {name}_copies WHERE copy > 1 AND NOT conflicting"
    ).fetchone()[0]
    batch.accepted, batch.corrected, batch.outdated = accepted, corrected, outdated
    batch.duplicate = duplicate + copies
    batch.rejected = len({r.problem.line for r in bad})
    received = batch.accepted + batch.duplicate + batch.rejected
    if received != batch.received:  # every row is accounted for, or nothing is kept
        raise RuntimeError(f"batch {batch.id}: {batch.received} rows read, {received} accounted")


def _quarantine(session, batch_id: int, bad: list[Rejection]) -> None:
    session.add_all(
        RejectedRow(
            batch_id=batch_id,
            row_no=r.problem.line or 0,
            field=r.problem.field or "",
            value=None if r.problem.value is None else str(r.problem.value),
            message=r.problem.message,
            row=json.dumps(r.row, default=str),
            line_key=r.key,
        )
        for r in bad
    )


def _resolve(session, raw, name: str, batch_id: int) -> None:
    """Quarantined rows whose line has now arrived (accepted or already there) are resolved."""
    open_keys = session.scalars(
        select(RejectedRow.line_key).where(RejectedRow.resolved_by.is_(None)).distinct()
    ).all()
    if not open_keys:
        return
    raw.register("open_keys", pa.table({"line_key": pa.array(open_keys, pa.string())}))
    arrived = raw.execute(
        f"SELECT DISTINCT k.line_key FROM {name}_judged AS j JOIN open_keys AS k "
        "ON k.line_key = concat_ws('/', j.source, j.document, j.line_no) "
        "WHERE j.outcome <> 'conflict'"
    ).fetchall()
    keys = [k for (k,) in arrived]
    if keys:
        session.execute(
            update(RejectedRow)
            .where(RejectedRow.line_key.in_(keys), RejectedRow.resolved_by.is_(None))
            .values(resolved_by=batch_id)
        )


def _touched_roots(session, raw, name: str) -> list[str]:
    """Top parents of every partner whose current lines changed: old owners included."""
    partners = raw.execute(
        f"SELECT DISTINCT partner_id FROM {name}_judged WHERE current UNION "
        f"SELECT DISTINCT cur_partner FROM {name}_judged WHERE replaces"
    ).fetchall()
    if not partners:
        return []
    parents = dict(session.execute(select(PartnerRow.id, PartnerRow.parent_id)).all())
    roots = set()
    for (partner,) in partners:
        while parents.get(partner):
            partner = parents[partner]
        roots.add(partner)
    return sorted(roots)


def _batch_summary(batch: Batch, roots: list[str]) -> dict:
    return {
        "file": batch.source_name,
        "digest": batch.file_digest,
        "received": batch.received,
        "accepted": batch.accepted,
        "duplicate": batch.duplicate,
        "corrected": batch.corrected,
        "outdated": batch.outdated,
        "rejected": batch.rejected,
        "recalculate": roots,
    }


def correction_csv(books: Books, batch_id: int) -> tuple[str, int]:
    """A batch's open rejected rows as a lines file to correct and send again: a `problem`
    column says what is wrong with each; importing it resolves the rows it fixes."""
    with books.session() as session:
        found = session.scalars(
            select(RejectedRow)
            .where(RejectedRow.batch_id == batch_id, RejectedRow.resolved_by.is_(None))
            .order_by(RejectedRow.row_no, RejectedRow.id)
        ).all()
    rows: dict[int, dict] = {}
    for r in found:
        row = rows.setdefault(r.row_no, {**json.loads(r.row), "problem": ""})
        row["problem"] = "; ".join(filter(None, [row["problem"], f"{r.field}: {r.message}"]))
    return csv_text([*LINE_COLUMNS, *OPTIONAL, "problem"], rows.values()), len(rows)
