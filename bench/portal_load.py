"""Load on the portal: signed-in people reading their pages, with sign-ins measured apart.

    python bench/portal_load.py --lines 100000                      # the embedded default
    python bench/portal_load.py --lines 100000 --workers 2 --recalc \\
        --database-url postgresql://postgres@127.0.0.1:5432/accrue_bench

Books are built once from `bench/generate.py` data (kept in `--books`, or in the PostgreSQL
database, emptied first when built) with the programs of bench/programs, then served by
`accrue serve` (`--workers` processes). `--users` people (a third partner users on the partner
dashboard, a third sales reps on the rep view, a third finance on the finance page) first sign
in, all at once, through the login form: those times are the sign-in figures. Then each reads
their page every 1–3 seconds for `--seconds`, as someone reading it would; with `--recalc` a
full recalculation of every line runs again and again through the API meanwhile. Prints, per
page and for sign-in, the count, p50, p99 and errors (target: p99 ≤ 100 ms, 0 errors).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from ingest import empty_books  # noqa: E402
from run import timed  # noqa: E402

from accrue.domain.permissions import Role  # noqa: E402
from accrue.domain.program import parse_program  # noqa: E402
from accrue.store import people  # noqa: E402
from accrue.store.ingest import import_lines  # noqa: E402
from accrue.store.master import import_master  # noqa: E402
from accrue.store.programs import import_program  # noqa: E402
from accrue.store.recalc import recalc  # noqa: E402

PASSWORD = "bench-portal-2026"
AS_OF = "2026-12-31"
PAGES = {Role.PARTNER: "/partner", Role.REP: "/rep", Role.FINANCE: "/finance"}


def build(data: Path, books_dir: Path, database_url: str | None, users: int) -> list[tuple]:
    """Books with the data, the programs, one recalculation and the people; who they are."""
    from datetime import date

    people_file = books_dir / "people.csv"
    if people_file.exists():
        return [tuple(row) for row in csv.reader(people_file.open())]
    chosen = _people(data, users)
    books = empty_books(books_dir, database_url)
    for kind in ("partners", "products", "reps", "fx"):
        import_master(books, kind, data / f"{kind}.csv")
    for path in sorted((HERE / "programs").glob("*.yaml")):
        import_program(books, parse_program(path.read_text(), path.name))
    seconds, _ = timed(lambda: import_lines(books, next(data.glob("lines.*"))))
    print(f"lines imported in {seconds:.1f} s", flush=True)
    seconds, _ = timed(lambda: recalc(books, date.fromisoformat(AS_OF), full=True))
    print(f"first full recalculation in {seconds:.1f} s", flush=True)
    for username, role, partner, rep in chosen:
        people.create_user(
            books, username, username, Role(role), PASSWORD, partner or None, rep or None
        )
    books.close()
    with people_file.open("w", newline="") as handle:
        csv.writer(handle).writerows(chosen)
    return chosen


def _people(data: Path, users: int) -> list[tuple]:
    """A third each: partner users of top parents, sales reps, finance (username, role,
    partner, rep; "" for none)."""
    with (data / "reps.csv").open() as handle:
        reps = sorted({row["rep_id"] for row in csv.DictReader(handle)})
    chosen = []
    for n in range(users):
        role = list(PAGES)[n % 3]
        partner = f"P{n:05d}" if role is Role.PARTNER else None
        rep = reps[n % len(reps)] if role is Role.REP else None
        chosen.append((f"u{n:03d}", role.value, partner or "", rep or ""))
    return chosen


def serve(books_dir: Path, database_url: str | None, workers: int, port: int):
    env = {**os.environ, "ACCRUE_DATA_DIR": str(books_dir)}
    if database_url:
        env["ACCRUE_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "accrue", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", str(workers)], env=env)
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not start")


WARM = 10.0  # seconds of reading after which every page has been read once by everyone


class Figures:
    """Response times (ms, with when they were asked) and errors, by what was asked; the
    99th percentile also without the first WARM seconds of reading, when each person's first
    page is worked out for them."""

    def __init__(self):
        self.times: dict[str, list[tuple[float, float]]] = {}
        self.errors: dict[str, int] = {}
        self.reading_from = float("inf")

    def note(self, name: str, asked: float, ms: float, ok: bool) -> None:
        self.times.setdefault(name, []).append((asked, ms))
        self.errors[name] = self.errors.get(name, 0) + (not ok)

    def report(self) -> str:
        lines = []
        for name, noted in self.times.items():
            times = [ms for _, ms in noted]
            warm = [ms for asked, ms in noted if asked >= self.reading_from + WARM]
            lines.append(
                f"{name:<22} {len(times):>6} requests  p50 {statistics.median(times):7.1f} ms  "
                f"p99 {_p99(times):7.1f} ms  max {max(times):7.1f} ms  errors {self.errors[name]}"
                + (f"  (after {WARM:.0f} s: p99 {_p99(warm):7.1f} ms)" if warm else "")
            )
        return "\n".join(lines)


def _p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def measured(figures: Figures, name: str, request, ok_status: int = 200):
    start = time.perf_counter()
    try:
        answer = await request
        ok = answer.status_code == ok_status
    except httpx.HTTPError:
        answer, ok = None, False
    figures.note(name, start, (time.perf_counter() - start) * 1000, ok)
    return answer


async def sign_in(client: httpx.AsyncClient, username: str, figures: Figures) -> None:
    form = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    fields = {"username": username, "password": PASSWORD, "csrf": csrf}
    await measured(figures, "sign in", client.post("/login", data=fields), 303)


async def read(client: httpx.AsyncClient, page: str, until: float, figures: Figures) -> None:
    """The page every 1–3 seconds; the first time within the first 3, as people who signed in
    at once would not all click at the same instant."""
    await asyncio.sleep(random.uniform(0, 3))
    while time.monotonic() < until:
        await measured(figures, f"GET {page}", client.get(page))
        await asyncio.sleep(random.uniform(1, 3))


async def load(url: str, chosen: list[tuple], seconds: float) -> Figures:
    figures = Figures()
    limits = httpx.Limits(max_connections=1)
    clients = [httpx.AsyncClient(base_url=url, timeout=60, limits=limits) for _ in chosen]
    await asyncio.gather(*(sign_in(c, p[0], figures) for c, p in zip(clients, chosen, strict=True)))
    figures.reading_from = time.perf_counter()
    until = time.monotonic() + seconds
    pages = [PAGES[Role(p[1])] for p in chosen]
    readers = zip(clients, pages, strict=True)
    await asyncio.gather(*(read(client, page, until, figures) for client, page in readers))
    for client in clients:
        await client.aclose()
    return figures


def recalculating(url: str, stop: threading.Event) -> list[float]:
    """Full recalculations through the API, one after another until `stop`; their seconds."""
    seconds: list[float] = []

    def run() -> None:
        with httpx.Client(base_url=url, timeout=None) as client:
            login = {"username": "u002", "password": PASSWORD}  # a finance user
            token = client.post("/api/auth/login", json=login).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            while not stop.is_set():
                start = time.perf_counter()
                done = client.post("/api/recalc", json={"as_of": AS_OF, "full": True})
                done.raise_for_status()
                seconds.append(time.perf_counter() - start)

    threading.Thread(target=run, daemon=True).start()
    return seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--books", type=Path, help="default: /tmp/accrue-portal-load-<lines>")
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--recalc", action="store_true", help="recalculate all along")
    args = parser.parse_args()
    data = HERE / "data" / str(args.lines)
    if not (data / "lines.parquet").exists():
        generate(args.lines, data)
    store = "postgres" if args.database_url else "embedded"
    books_dir = args.books or Path(f"/tmp/accrue-portal-load-{store}-{args.lines}")
    chosen = build(data, books_dir, args.database_url, args.users)
    port = _free_port()
    server = serve(books_dir, args.database_url, args.workers, port)
    stop = threading.Event()
    try:
        url = f"http://127.0.0.1:{port}"
        recalcs = recalculating(url, stop) if args.recalc else []
        figures = asyncio.run(load(url, chosen, args.seconds))
    finally:
        stop.set()
        server.terminate()
        server.wait()
    print(f"{args.lines:,} lines, {store}, {args.workers} worker(s), {len(chosen)} users")
    print(figures.report())
    if args.recalc:
        done = ", ".join(f"{s:.1f}" for s in recalcs)
        print(f"full recalculations during the reads: {len(recalcs)} ({done} s)")


if __name__ == "__main__":
    main()
