"""Files received over the API and the portal, written to the data folder's `uploads/` as
received (see accrue.store.uploads for what is kept, and what an upload is called)."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from accrue.domain.errors import Refused
from accrue.ingest.errors import InputError
from accrue.store.books import Books
from accrue.store.uploads import Upload, forget

MAX_BYTES = 512 * 1024 * 1024
CHUNK = 1024 * 1024


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
    name = _safe_name(upload.filename)
    kept = Upload(folder / name, name, brought=not (folder / name).exists())
    if kept.brought:
        folder.mkdir(parents=True, exist_ok=True)
        upload.file.seek(0)
        with kept.path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, CHUNK)
    try:
        yield kept
    except BaseException as refused:
        forget(kept)
        if isinstance(refused, InputError):
            raise refused.naming(kept.path, kept.name) from None
        raise
