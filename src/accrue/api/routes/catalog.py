"""Programs (list, read, validate, explain, import) and master data (partners, products, reps)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Query, Request, UploadFile
from sqlalchemy import select
from starlette.datastructures import UploadFile as StarletteUpload

from accrue.api.lists import Listed, Page, listing, paged, where_given
from accrue.api.routes.books import today
from accrue.api.schemas import (
    BatchOut,
    ExplainOut,
    ImportedProgramOut,
    PartnerOut,
    ProductOut,
    ProgramDetailOut,
    ProgramOut,
    RepOut,
    ValidatedOut,
)
from accrue.api.security import Caller, Context, Routes
from accrue.api.uploads import received
from accrue.app.books import import_master, import_programs
from accrue.domain.errors import NotFound, Refused
from accrue.domain.program import Program, parse_program
from accrue.explain import summary, worked_example
from accrue.store.master import KINDS
from accrue.store.tables import PartnerRow, ProductRow, ProgramVersionRow, RepRow

routes = Routes(tags=["programs and master data"])

PROGRAM_BODY = {
    "requestBody": {
        # required, in truth (an empty program is refused by name); declared optional because
        # openapi-python-client 0.29 types a body of several content types as optional anyway
        "required": False,
        "description": "a program in the program language: YAML, JSON, or a YAML or JSON file",
        "content": {
            "application/yaml": {
                "schema": {"type": "string", "format": "binary"},
                "example": "id: volume-2026\nname: Volume 2026\n...",
            },
            "application/json": {
                "schema": {"type": "object", "description": "the program language, as JSON"}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


async def _program_text(request: Request) -> str:
    """The program sent: YAML or JSON text as the body, or a file in the form field `file`
    (JSON is YAML, so one reader takes both)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        sent = (await request.form()).get("file")
        if not isinstance(sent, StarletteUpload):
            raise Refused("file: send the program as the form field file")
        content = await sent.read()
    else:
        content = await request.body()
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused("the program: not UTF-8 text") from None


ProgramText = Annotated[str, Depends(_program_text)]


MasterKind = StrEnum("MasterKind", {kind: kind for kind in KINDS})


def _program_out(row: ProgramVersionRow, program: Program) -> ProgramOut:
    """As stored: the version's effective date is the one it was imported with."""
    stored = _summary(program)
    return stored.model_copy(update={"takes_effect": row.takes_effect, "digest": row.digest})


def _summary(program: Program) -> ProgramOut:
    return ProgramOut(
        id=program.id,
        version=program.version,
        name=program.name,
        kind=program.kind.value,
        period=program.period.value,
        currency=program.currency,
        takes_effect=program.takes_effect,
        digest=program.digest,
    )


def _seen(context: Context, row: ProgramVersionRow) -> Program | None:
    return context.user.scope.program(Program.model_validate_json(row.document))


def _versions(context: Context, program_id: str) -> list[tuple[ProgramVersionRow, Program]]:
    """The versions of a program the caller may see, oldest first."""
    with context.books.session() as session:
        rows = session.scalars(
            select(ProgramVersionRow)
            .where(ProgramVersionRow.program_id == program_id)
            .order_by(ProgramVersionRow.version)
        ).all()
    seen = [(row, program) for row in rows if (program := _seen(context, row))]
    if not seen:
        raise NotFound(f"no program {program_id}")
    return seen


@routes.read("/programs", "programs:read", response_model=Page[ProgramOut])
def programs(context: Caller, paging: Listed):
    """The newest version of every program the caller may see."""
    with context.books.session() as session:
        rows = session.scalars(select(ProgramVersionRow).order_by(ProgramVersionRow.version))
        newest = {row.program_id: row for row in rows}
    seen = ((newest[key], _seen(context, newest[key])) for key in sorted(newest))
    return paged([_program_out(row, p) for row, p in seen if p], paging, "programs")


@routes.read(
    "/programs/{program_id}",
    "programs:read",
    response_model=ProgramDetailOut,
    operation_id="get_program",
)
def program(
    program_id: str,
    context: Caller,
    version: Annotated[int | None, Query(ge=1, description="default: the newest")] = None,
):
    seen = _versions(context, program_id)
    chosen = (
        seen[-1] if version is None else next((v for v in seen if v[0].version == version), None)
    )
    if chosen is None:
        raise NotFound(f"no version {version} of program {program_id}")
    row, program = chosen
    return ProgramDetailOut(
        **_program_out(row, program).model_dump(),
        document=program.model_dump(mode="json", by_alias=True, exclude_defaults=True),
        versions=[r.version for r, _ in seen],
    )


@routes.read(
    "/programs/{program_id}/explain",
    "programs:read",
    response_model=ExplainOut,
    operation_id="explain_program",
)
def explain(program_id: str, context: Caller):
    """The program in plain language, with a worked example computed by the engine."""
    program = _versions(context, program_id)[-1][1]
    return ExplainOut(
        summary=summary(program),
        example=[f"{s.label}: {s.result}" for s in worked_example(program)],
    )


@routes.write(
    "/programs/validate",
    "programs:write",
    response_model=ValidatedOut,
    openapi_extra=PROGRAM_BODY,
    operation_id="validate_program",
)
def validate(context: Caller, document: ProgramText):
    """Check a program without importing it: 422 names every bad field."""
    return ValidatedOut(program=_summary(parse_program(document, "program")))


@routes.write(
    "/programs",
    "programs:write",
    response_model=ImportedProgramOut,
    openapi_extra=PROGRAM_BODY,
    operation_id="import_program",
)
def import_program_route(
    context: Caller,
    document: ProgramText,
    takes_effect: Annotated[
        date | None, Query(description="a changed program takes effect from (a period start)")
    ] = None,
):
    """Import a program; a changed program becomes a new version, and everything is
    recomputed and posted at once."""
    program = parse_program(document, "program")
    done = import_programs(
        context.books, [program], today(context), takes_effect, sources=[document]
    )
    imported = done.received[0]
    return ImportedProgramOut(program=_summary(imported.program), status=imported.status)


@routes.read(
    "/partners",
    "partners:read",
    response_model=Page[PartnerOut],
    sort=("id", "name", "parent_id", "segment", "region"),
)
def partners(
    context: Caller,
    paging: Listed,
    parent_id: str | None = None,
    segment: str | None = None,
    region: str | None = None,
):
    query = where_given(
        context.visible(select(PartnerRow), PartnerRow.id),
        (PartnerRow.parent_id, parent_id),
        (PartnerRow.segment, segment),
        (PartnerRow.region, region),
    )
    with context.books.session() as session:
        return listing(
            session,
            query,
            PartnerRow,
            paging,
            PartnerOut.model_validate,
            "partners",
        )


@routes.read(
    "/partners/{partner_id}", "partners:read", response_model=PartnerOut, operation_id="get_partner"
)
def partner(partner_id: str, context: Caller):
    context.check_partner(partner_id)
    with context.books.session() as session:
        row = session.get(PartnerRow, partner_id)
    if row is None:
        raise NotFound(f"no partner {partner_id}")
    return PartnerOut.model_validate(row)


@routes.read(
    "/products",
    "catalog:read",
    response_model=Page[ProductOut],
    sort=("sku", "name", "category", "product_line"),
)
def products(
    context: Caller,
    paging: Listed,
    category: str | None = None,
    product_line: str | None = None,
):
    query = where_given(
        select(ProductRow),
        (ProductRow.category, category),
        (ProductRow.product_line, product_line),
    )
    with context.books.session() as session:
        return listing(
            session,
            query,
            ProductRow,
            paging,
            ProductOut.model_validate,
            "products",
        )


@routes.read("/reps", "master:read", response_model=Page[RepOut], sort=("id", "name"))
def reps(context: Caller, paging: Listed):
    with context.books.session() as session:
        return listing(session, select(RepRow), RepRow, paging, RepOut.of, "reps")


@routes.write(
    "/master/{kind}", "master:write", response_model=BatchOut, operation_id="import_master"
)
def import_master_route(kind: MasterKind, file: UploadFile, context: Caller):
    """Upsert partners, products, reps or fx from a CSV or Excel file; changes keep history,
    and a change recomputes everything and posts it at once."""
    with received(context.books, file) as sent:
        done = import_master(context.books, kind.value, sent.path, today(context), sent.name)
    return done.received[0]
