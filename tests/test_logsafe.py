"""Values from outside shown in log lines: one line, bounded."""

from automations.logsafe import shown


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
