"""Files received over the API are kept, as received, in the data folder's `uploads/`: the
batch names the file, and the file is there to show what was sent."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi import UploadFile

from accrue.domain.errors import Refused
from accrue.store.books import Books

MAX_BYTES = 512 * 1024 * 1024
CHUNK = 1024 * 1024


def _safe_name(name: str | None) -> str:
    base = Path(name or "").name
    cleaned = re.sub(r"[^\w.-]", "_", base).lstrip(".")
    return cleaned[:120] or "upload"


def received_file(books: Books, upload: UploadFile) -> Path:
    """The upload written to `uploads/<digest>/<its name>`; its extension says its format."""
    digest, size = hashlib.sha256(), 0
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK):
        size += len(chunk)
        if size > MAX_BYTES:
            raise Refused(f"file: larger than {MAX_BYTES // 2**20} MiB; split it")
        digest.update(chunk)
    folder = books.settings.data_dir / "uploads" / digest.hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _safe_name(upload.filename)
    if not path.exists():
        upload.file.seek(0)
        with path.open("wb") as out:
            while chunk := upload.file.read(CHUNK):
                out.write(chunk)
    return path
