"""Files received over the API are kept, as received, in the data folder's `uploads/` while
they are imported, and afterwards only if the import took them (the batch names the file and
its digest, and the file is there to show what was sent); a refused upload is deleted. Records
and answers call an upload by the name it was sent with, never by where the server keeps it."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

from accrue.domain.errors import Refused
from accrue.ingest.errors import InputError
from accrue.store.books import Books

MAX_BYTES = 512 * 1024 * 1024
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    path: Path  # where the server keeps it: for reading, never shown
    name: str  # the name it was sent with, made safe: what records and answers call it


def _safe_name(name: str | None) -> str:
    base = Path(name or "").name
    cleaned = re.sub(r"[^\w.-]", "_", base).lstrip(".")
    return cleaned[:120] or "upload"


@contextmanager
def received(books: Books, upload: UploadFile) -> Iterator[Upload]:
    """The upload written to `uploads/<digest>/<its name>` (its extension says its format) for
    the import in the block. If the block raises, a file this upload brought is deleted, and
    the problems raised name it as sent."""
    digest, size = hashlib.sha256(), 0
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK):
        size += len(chunk)
        if size > MAX_BYTES:
            raise Refused(f"file: larger than {MAX_BYTES // 2**20} MiB; split it")
        digest.update(chunk)
    folder = books.settings.data_dir / "uploads" / digest.hexdigest()[:16]
    kept = Upload(folder / _safe_name(upload.filename), _safe_name(upload.filename))
    brought = not kept.path.exists()
    if brought:
        folder.mkdir(parents=True, exist_ok=True)
        upload.file.seek(0)
        with kept.path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, CHUNK)
    try:
        yield kept
    except BaseException as refused:
        _forget(kept.path, brought)
        if isinstance(refused, InputError):
            raise refused.naming(kept.path, kept.name) from None
        raise


def _forget(path: Path, brought: bool) -> None:
    """A refused upload is not kept (unless an earlier, accepted upload was the same file)."""
    if brought:
        path.unlink(missing_ok=True)
        if not any(path.parent.iterdir()):
            path.parent.rmdir()
