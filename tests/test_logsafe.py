"""Values from outside shown in log lines: one line, bounded; lines about recurring input, throttled."""

from automations.logsafe import Throttle, shown


def test_a_value_is_shown_as_its_literal_on_one_line():
    assert shown("a\nb") == "'a\\nb'"
    assert shown(999999) == "999999"
    assert shown(None) == "None"


def test_long_values_and_containers_are_cut():
    assert len(shown("x" * 5_000_000)) <= 200
    assert len(shown({"key": ["y" * 10_000] * 100})) <= 200
    assert len(shown("z" * 500, limit=50)) <= 50


def test_a_hostile_repr_is_neither_trusted_nor_raised():
    class Forged:
        def __repr__(self):
            return "fine\nFORGED LOG LINE\x1b[31m"

    class Broken:
        def __repr__(self):
            raise RuntimeError("no")

    assert "\n" not in shown(Forged()) and "\x1b" not in shown(Forged())
    assert "Broken" in shown(Broken())


def test_a_throttle_lets_one_line_through_per_interval_with_the_count_held_back():
    now = [100.0]
    throttle = Throttle(10, clock=lambda: now[0])
    assert throttle.passes() == 1  # the first at once
    assert [throttle.passes() for _ in range(14)] == [0] * 14
    now[0] = 109.9
    assert throttle.passes() == 0
    now[0] = 110.0
    assert throttle.passes() == 16  # the 15 held back and this one
    assert throttle.passes() == 0
    now[0] = 200.0
    assert throttle.passes() == 2
