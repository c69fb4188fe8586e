"""Files received over the API or the portal, kept in the data folder's `uploads/` while they
are imported, and afterwards only if the import took them (the batch names the file and its
digest, and the file is there to show what was sent): a refused upload is deleted, whether it
was imported at once or by a background job. Records and answers call an upload by the name it
was sent with, never by where the server keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Upload:
    path: Path  # where the server keeps it: for reading, never shown
    name: str  # the name it was sent with, made safe: what records and answers call it
    brought: bool  # this upload put the file there (not an earlier one of the same file)


def forget(upload: Upload) -> None:
    """A refused upload is not kept (unless an earlier upload of the same file was taken)."""
    if upload.brought:
        upload.path.unlink(missing_ok=True)
        if upload.path.parent.is_dir() and not any(upload.path.parent.iterdir()):
            upload.path.parent.rmdir()
