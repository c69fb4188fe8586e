"""Input problems are values with a location, reported together, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from accrue.domain.errors import Refused


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        if not self.field:
            return f"{where}: {self.message}"
        shown = f" = {self.value!r}" if self.value is not None else ""
        return f"{where}: {self.field}{shown}: {self.message}"


class InputError(Refused):
    """One or more problems in input files; the message lists them (the first 20)."""

    LIMIT = 20

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[: self.LIMIT])
        more = len(problems) - self.LIMIT
        tail = f"\n  … and {more} more" if more > 0 else ""
        super().__init__(f"{len(problems)} problem(s) in the input:\n{shown}{tail}")

    def naming(self, path: Path, name: str) -> InputError:
        """The same problems with the file at `path` called `name`, in their messages too (a
        reader's own reason may quote the path): an upload is named as it was sent, never where
        the server keeps it."""
        where = str(path)
        return InputError(
            [
                replace(p, file=name, message=p.message.replace(where, name))
                if p.file == where
                else p
                for p in self.problems
            ]
        )
