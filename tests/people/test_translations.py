"""German translation: complete, compiled, and used by the views and the live list."""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

import automations
from tests.people.flows import ForAda

LOCALE = Path(automations.__file__).parent / "locale" / "de" / "LC_MESSAGES"


def po_catalog(path) -> dict:
    """Return ``{msgid: msgstr}`` of a .po file (without the header entry)."""
    catalog = {}
    for entry in path.read_text(encoding="utf-8").split("\n\n"):
        assert "#, fuzzy" not in entry, entry
        match = re.search(r'msgid ((?:"(?:[^"\\]|\\.)*"\s*)+)msgstr ((?:"(?:[^"\\]|\\.)*"\s*)+)', entry)
        if match:
            msgid, msgstr = (_unquote(group) for group in match.groups())
            if msgid:
                catalog[msgid] = msgstr
    return catalog


def _unquote(lines) -> str:
    text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', lines))
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def test_every_string_is_translated_and_compiled():
    catalog = po_catalog(LOCALE / "django.po")
    assert catalog
    untranslated = [msgid for msgid, msgstr in catalog.items() if not msgstr]
    assert untranslated == []
    with open(LOCALE / "django.mo", "rb") as compiled:
        translations = gettext.GNUTranslations(compiled)
    assert {msgid: translations.gettext(msgid) for msgid in catalog} == catalog


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext's xgettext")
def test_the_catalog_holds_every_marked_string(tmp_path):
    copy = tmp_path / "automations"
    shutil.copytree(Path(automations.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    subprocess.run(
        [sys.executable, str(manage), "makemessages", "-l", "de", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
    )
    fresh = po_catalog(copy / "locale" / "de" / "LC_MESSAGES" / "django.po")
    assert sorted(set(fresh) - set(po_catalog(LOCALE / "django.po"))) == []


@pytest.mark.django_db
def test_pages_are_german_for_german_browsers(ada):
    ForAda()
    client = Client(headers={"accept-language": "de"})
    client.force_login(ada)
    html = client.get("/automations/tasks/").content.decode()
    assert "Meine Aufgaben" in html and "wartet seit" in html
    task_html = client.get(re.search(r'href="(/automations/tasks/\d+/)"', html).group(1)).content.decode()
    assert "Absenden" in task_html and "Zurück zu meinen Aufgaben" in task_html
