"""Idempotent, order-independent books: the demo's lines in batches, re-sent and shuffled."""

from __future__ import annotations

import csv
import json
import random
import zlib
from pathlib import Path

from bookkeeping import AS_OF, books_state, journals
from conftest import BACKENDS

from accrue.engine import Engine
from accrue.ingest.dataset import load_directory
from accrue.ingest.programs import load_programs
from accrue.report import standing_row
from accrue.store.audit import verify_books
from accrue.store.ingest import import_lines
from accrue.store.master import import_master
from accrue.store.programs import import_program
from accrue.store.recalc import recalc

EXAMPLES = Path(__file__).parent.parent / "examples"
DATA = EXAMPLES / "data"


def _batches(folder: Path, parts: int = 4) -> list[Path]:
    """The demo lines split by document into `parts` files, the same split on every run."""
    with (DATA / "lines.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    files = []
    for part in range(parts):
        path = folder / f"batch{part}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(r for r in rows if zlib.crc32(r[1].encode()) % parts == part)
        files.append(path)
    return files


def _setup(books):
    for kind in ("partners", "products", "fx", "reps"):
        import_master(books, kind, DATA / f"{kind}.csv")
    for program in load_programs([EXAMPLES / "programs"]):
        import_program(books, program)


@BACKENDS
def test_replaying_every_batch_three_times_changes_nothing(books, tmp_path):
    _setup(books)
    batches = _batches(tmp_path)
    for path in batches:
        import_lines(books, path)
    recalc(books, AS_OF)
    in_order = journals(books)
    standings, balances = books_state(books)

    for _ in range(3):  # re-sending every batch changes nothing at all
        for path in batches:
            received = import_lines(books, path)
            assert received.batch.accepted == 0 and received.batch.duplicate > 0
        assert recalc(books, AS_OF).journals == 0
    assert journals(books) == in_order
    assert recalc(books, AS_OF, full=True).changed == 0
    assert books_state(books) == (standings, balances)
    assert verify_books(books).ok


def test_shuffled_batches_give_byte_identical_ledgers(books_settings, tmp_path):
    """Same batches, another order: the same journals when recalculated once, and the same
    balances when recalculated after every batch (the history of deltas differs, as it must)."""
    from accrue.store.books import Books

    batches = _batches(tmp_path)
    exports, states = [], []
    for order in (batches, random.Random(7).sample(batches, len(batches))):
        for each_batch in (False, True):
            settings = books_settings.model_copy(update={"data_dir": tmp_path / f"b{len(exports)}"})
            books = Books.init(settings)
            _setup(books)
            for path in order:
                import_lines(books, path)
                if each_batch:
                    recalc(books, AS_OF)
            recalc(books, AS_OF)
            exports.append((each_batch, journals(books)))
            states.append(books_state(books))
            books.close()
    for state in states[1:]:
        assert state[1] == states[0][1]
        assert state[0] == states[0][0]
    once = [rows for each, rows in exports if not each]
    assert once[0] == once[1]


def test_stored_standings_are_what_the_engine_computes_from_the_files(books, tmp_path):
    """Incremental batches through the books = one engine run over the files."""
    _setup(books)
    for path in _batches(tmp_path):
        import_lines(books, path)
        recalc(books, AS_OF)
    result = Engine(load_directory(DATA)).run(load_programs([EXAMPLES / "programs"]), AS_OF)
    expected = {s.key: standing_row(s, result.program_refs[s.program_id]) for s in result.standings}
    standings, _ = books_state(books)
    assert {k: json.loads(v) for k, v in standings.items()} == expected
