"""Rep recognition: the points a sales rep earns through their distributors climb named
levels; points are a count, never money. The levels are the books' to choose
(`ACCRUE_REP_LEVELS`); the rule of climbing them is here."""

from __future__ import annotations

from dataclasses import dataclass

from accrue.domain.errors import Refused


@dataclass(frozen=True)
class Level:
    name: str
    points: int
    next_name: str | None  # None at the top level
    to_go: int  # points still needed for the next level
    floor: int = 0  # the points this level starts at

    @property
    def progress(self) -> int:
        """Percent of the way from this level's threshold to the next one."""
        if self.next_name is None:
            return 100
        return int((self.points - self.floor) * 100 / (self.points - self.floor + self.to_go))


@dataclass(frozen=True)
class Levels:
    """(least points in the calendar year, level name), ascending from 0."""

    steps: tuple[tuple[int, str], ...]

    @classmethod
    def parse(cls, text: str) -> Levels:
        """`"0:Associate,500:Bronze"`: Associate from the first point, Bronze from 500."""
        steps = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            points, _, name = part.partition(":")
            if not points.strip().isdigit() or not name.strip():
                raise Refused(f"rep level {part!r}: write POINTS:NAME, e.g. 500:Bronze")
            steps.append((int(points), name.strip()))
        thresholds = [points for points, _ in steps]
        if not steps or thresholds[0] != 0 or thresholds != sorted(set(thresholds)):
            raise Refused(
                f"rep levels {text!r}: start at 0 and climb, each level above the one before"
            )
        return cls(tuple(steps))

    def level(self, points: int) -> Level:
        """The level `points` reach, and how far the next one is."""
        floor, name = ([(t, n) for t, n in self.steps if t <= points] or [self.steps[0]])[-1]
        ahead = [(t, n) for t, n in self.steps if t > points]
        if not ahead:
            return Level(name, points, None, 0, floor)
        return Level(name, points, ahead[0][1], ahead[0][0] - points, floor)
