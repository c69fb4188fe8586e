"""People and the server: users, API tokens, `accrue serve`. Each command imports the store
when it runs, so that starting any command does not load SQLAlchemy or the web app."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from accrue.cli.app import app, console, reports_errors
from accrue.cli.books import opened, settings, settings_given
from accrue.domain.permissions import Role

users = typer.Typer(help="Users of the API and portal, and their API tokens.")
app.add_typer(users, name="user")


@users.command("add")
@reports_errors
def add_user(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[Role, typer.Option(help="what they may do")],
    name: Annotated[str, typer.Option(help="full name")] = "",
    partner: Annotated[str | None, typer.Option(help="partner id, for partner users")] = None,
    rep: Annotated[str | None, typer.Option(help="rep id, for sales reps")] = None,
    email: Annotated[str | None, typer.Option(help="where alerts go")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="at least 10 characters [env ACCRUE_NEW_PASSWORD; else asked]"),
    ] = None,
) -> None:
    """Add a user (passwords are kept only as argon2id hashes)."""
    from accrue.store import people

    chosen = password or os.environ.get("ACCRUE_NEW_PASSWORD")
    if chosen is None:
        chosen = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with opened() as books:
        people.create_user(books, username, name or username, role, chosen, partner, rep, email)
    console.print(f"user {username} ({role.value}) added", highlight=False)


@users.command("token")
@reports_errors
def token(
    username: Annotated[str, typer.Argument(help="the user the integration acts as")],
    name: Annotated[str, typer.Option(help="what the token is for, e.g. erp")],
) -> None:
    """Issue an API token; it is printed once and stored only as a hash."""
    from accrue.store import people

    with opened() as books:
        issued = people.issue_token(books, username, name)
    console.print(issued, highlight=False)


@app.command()
@reports_errors
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="server processes (PostgreSQL only: see the user guide)")
    ] = 1,
) -> None:
    """Serve the portal and the REST API (explorer at /docs) over these books."""
    import uvicorn

    from accrue.api import create_app
    from accrue.domain.errors import Refused

    with opened() as books:  # says clearly when the books are not there, before the server starts
        postgres = books.postgres
    if workers > 1 and not postgres:
        raise Refused(
            "--workers: the embedded store belongs to one process; serve several workers "
            "over PostgreSQL (ACCRUE_DATABASE_URL)"
        )
    console.print(
        f"Accrue portal on http://{host}:{port}/ (API explorer: http://{host}:{port}/docs)"
        + (f", {workers} workers" if workers > 1 else ""),
        highlight=False,
    )
    if workers == 1:
        uvicorn.run(create_app(settings()), host=host, port=port, log_level="warning")
        return
    os.environ.update({f"ACCRUE_{k.upper()}": str(v) for k, v in settings_given().items()})
    factory = "accrue.api.app:create_app"  # each worker process opens the books itself
    uvicorn.run(factory, factory=True, workers=workers, host=host, port=port, log_level="warning")
