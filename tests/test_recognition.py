"""Rep levels are the books' to choose (ACCRUE_REP_LEVELS); the rule of climbing them is the
domain's: the highest threshold reached names the level, the next one says what is left."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from accrue.domain.errors import Refused
from accrue.domain.recognition import Levels
from accrue.settings import Settings


def test_the_default_levels_climb_from_associate_to_platinum():
    levels = Levels.parse(Settings().rep_levels)
    assert levels.level(140).name == "Associate" and levels.level(140).to_go == 360
    assert levels.level(500).name == "Bronze" and levels.level(500).next_name == "Silver"
    top = levels.level(25_000)
    assert (top.name, top.next_name, top.to_go, top.progress) == ("Platinum", None, 0, 100)


def test_levels_of_the_books_own_choosing_with_progress_from_their_floor():
    levels = Levels.parse(Settings(rep_levels="0:Starter, 100:Pro, 1000:Elite").rep_levels)
    pro = levels.level(550)
    assert (pro.name, pro.next_name, pro.to_go) == ("Pro", "Elite", 450)
    assert pro.progress == 50  # 450 of the 900 from Pro to Elite
    assert levels.level(-20).name == "Starter"  # points taken back below zero


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("100:Pro,1000:Elite", "start at 0"),
        ("0:Starter,1000:Elite,100:Pro", "climb"),
        ("0:Starter,500", "write POINTS:NAME"),
        ("0:Starter,lots:Elite", "write POINTS:NAME"),
    ],
)
def test_levels_written_wrong_are_refused_saying_what_to_write(text, said):
    with pytest.raises(Refused, match=said):
        Levels.parse(text)
    with pytest.raises(ValidationError, match=said):
        Settings(rep_levels=text)
