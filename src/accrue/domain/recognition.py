"""Rep recognition: the points a sales rep earns through their distributors climb named
levels; points are a count, never money."""

from __future__ import annotations

from dataclasses import dataclass

# (least points in the calendar year, level name), ascending
LEVELS: tuple[tuple[int, str], ...] = (
    (0, "Associate"),
    (500, "Bronze"),
    (2_000, "Silver"),
    (5_000, "Gold"),
    (10_000, "Platinum"),
)


@dataclass(frozen=True)
class Level:
    name: str
    points: int
    next_name: str | None  # None at the top level
    to_go: int  # points still needed for the next level

    @property
    def progress(self) -> int:
        """Percent of the way from this level's threshold to the next one."""
        if self.next_name is None:
            return 100
        floor = max(t for t, _ in LEVELS if t <= self.points)
        return int((self.points - floor) * 100 / (self.points - floor + self.to_go))


def level(points: int) -> Level:
    reached = [(t, name) for t, name in LEVELS if t <= points] or [LEVELS[0]]
    ahead = [(t, name) for t, name in LEVELS if t > points]
    name = reached[-1][1]
    if not ahead:
        return Level(name, points, None, 0)
    return Level(name, points, ahead[0][1], ahead[0][0] - points)
