"""Program documents from YAML files or folders of them."""

from __future__ import annotations

from pathlib import Path

from accrue.domain.program import Program, ProgramError, parse_program
from accrue.ingest.errors import InputError, Problem


def program_files(paths: list[Path]) -> list[Path]:
    files = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError([Problem(str(path), None, None, None, "no such file or folder")])
    return files


def load_program(path: Path) -> Program:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            [Problem(str(path), None, None, None, f"not UTF-8: {error.reason}")]
        ) from None
    return parse_program(text, str(path))


def load_programs(paths: list[Path]) -> list[Program]:
    """Every program, or one ProgramError per bad document gathered into one report."""
    programs, problems = [], []
    for path in program_files(paths):
        try:
            programs.append(load_program(path))
        except ProgramError as error:
            problems.extend(
                Problem(str(path), None, field, None, f"{message}" + (f" — {hint}" if hint else ""))
                for field, message, hint in error.problems
            )
    if problems:
        raise InputError(problems)
    return programs
