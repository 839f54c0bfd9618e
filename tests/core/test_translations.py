"""The German catalogue is complete, formal and in step with the code.

Fails on an untranslated or fuzzy string, on a translation that drops or adds a
placeholder, on informal address ("du"), and on a string marked in the code that the
catalogue lacks (makemessages run into a copy of the catalogue, never into locale/).
"""

import gettext
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import Context, Template
from django.utils import translation

from core.catalogues import Entry, mo_bytes, parse_po

PO = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
# %(name)s / %(n)d / %s / %d, and str.format's {name} (the campaign greeting).
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[-#0 +]*[0-9]*(?:\.[0-9]+)?[sdfir]|%[sdfi]|\{[a-z_]+\}")
# The number a plural counts, which a German singular may write as a word.
COUNTS = {"%(n)s", "%(n)d", "%(count)s", "%(counter)s"}
# Informal address; German words that merely contain these letters are not matched.
INFORMAL = re.compile(
    r"\b(du|dich|dir|dein|deine|deinen|deinem|deiner|deines|euch|euer|eure)\b", re.I
)


def entries() -> list[Entry]:
    return [e for e in parse_po(PO.read_text(encoding="utf-8")) if e.msgid]


def compiled() -> gettext.GNUTranslations:
    """The catalogue as core.catalogues compiles it (header included: charset, plurals)."""
    return gettext.GNUTranslations(io.BytesIO(mo_bytes(parse_po(PO.read_text("utf-8")))))


def label(entry: Entry) -> str:
    return f"{PO.name}:{entry.line}: {entry.msgid[:70]!r}"


def test_every_string_is_translated_and_none_is_fuzzy():
    found = entries()
    header = parse_po(PO.read_text(encoding="utf-8"))[0]

    assert len(found) > 1000, "the catalogue lost most of its strings"
    assert not header.fuzzy, "the header is marked fuzzy"
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstr[0]
    untranslated = [label(e) for e in found if not e.translated]
    fuzzy = [label(e) for e in found if e.fuzzy]
    obsolete = [label(e) for e in found if e.obsolete]
    assert untranslated == [], f"{len(untranslated)} untranslated: {untranslated[:20]}"
    assert fuzzy == [], f"{len(fuzzy)} fuzzy: {fuzzy[:20]}"
    assert obsolete == [], f"obsolete entries (run make_translations): {obsolete[:20]}"


def test_every_plural_has_both_german_forms():
    bad = [label(e) for e in entries() if e.msgid_plural is not None and len(e.msgstr) != 2]

    assert bad == []


def test_translations_keep_exactly_the_placeholders_of_the_english():
    # A placeholder the English lacks raises KeyError when the page is drawn; one the
    # German drops loses a value. Only a plural's singular may spell its number out
    # ("Diesen Artikel" for "this 1 item").
    mismatched = []
    for entry in entries():
        if "python-format" not in entry.flags and "{" not in entry.msgid:
            continue
        forms = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        english = set().union(*(PLACEHOLDER.findall(f) for f in forms))
        for position, german in enumerate(entry.msgstr):
            got = set(PLACEHOLDER.findall(german))
            wanted = set(PLACEHOLDER.findall(forms[min(position, len(forms) - 1)]))
            if entry.msgid_plural is not None and position == 0:
                wanted -= COUNTS
            if got - english or wanted - got:
                mismatched.append(f"{label(entry)} -> {german[:70]!r}")

    assert mismatched == []


def test_the_german_is_formal_throughout():
    informal = [
        f"{label(e)} -> {' / '.join(e.msgstr)[:80]!r}"
        for e in entries()
        if any(INFORMAL.search(s) for s in e.msgstr)
    ]

    assert informal == []


def test_the_plain_python_compiler_gives_what_gettext_reads():
    # given the catalogue compiled by core.catalogues
    translations = compiled()

    # then gettext finds plain, plural and context entries in it
    assert translations.gettext("History") == "Verlauf"
    assert translations.ngettext("%(n)s day", "%(n)s days", 1) == "%(n)s Tag"
    assert translations.ngettext("%(n)s day", "%(n)s days", 4) == "%(n)s Tage"
    assert translations.pgettext("money", "£%(amount)s") == "%(amount)s £"
    assert translations.gettext("Are you sure you want to sign out?") == (
        "Möchten Sie sich wirklich abmelden?"
    )


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is missing")
def test_gnu_msgfmt_accepts_the_catalogue_and_compiles_the_same_entries(tmp_path):
    ours = compiled()
    theirs_path = tmp_path / "django.mo"

    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(theirs_path), str(PO)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    with theirs_path.open("rb") as handle:
        theirs = gettext.GNUTranslations(handle)
    assert ours._catalog == theirs._catalog


@pytest.mark.slow
def test_every_string_marked_in_the_code_is_in_the_catalogue(tmp_path):
    """makemessages over the code, into a copy of the catalogue: nothing new, nothing
    stale. A failure lists the strings to translate; `manage.py make_translations` then
    puts them into locale/de for real."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        if os.environ.get("REQUIRE_GETTEXT") == "1":
            pytest.fail("REQUIRE_GETTEXT=1 but GNU gettext (xgettext) is missing")
        pytest.skip("GNU gettext's xgettext is missing (apt-get install gettext)")
    copy = tmp_path / "de" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copy(PO, copy)
    # A child process: makemessages walks the working directory and writes into the
    # first of LOCALE_PATHS, here the copy.
    script = (
        "import django, sys\n"
        "from django.conf import settings\n"
        "django.setup()\n"
        "settings.LOCALE_PATHS = [sys.argv[1]]\n"
        "from django.core.management import call_command\n"
        "call_command('make_translations', verbosity=0)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}

    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
    )

    merged = {e.key: e for e in parse_po(copy.read_text(encoding="utf-8")) if e.msgid}
    committed = {e.key for e in entries()}
    missing = sorted(k[1][:70] for k in merged.keys() - committed)
    stale = sorted(k[1][:70] for k in committed - merged.keys())
    changed = sorted(label(e) for e in merged.values() if e.fuzzy or not e.translated)
    assert missing == [], f"marked in the code, not in locale/de: {missing}"
    assert stale == [], f"in locale/de, no longer in the code: {stale}"
    assert changed == []


def test_compile_translations_writes_a_mo_file_django_reads(tmp_path, settings):
    locale = tmp_path / "de" / "LC_MESSAGES"
    locale.mkdir(parents=True)
    (locale / "django.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Zebra crossing"\nmsgstr "Zebrastreifen"\n\n'
        '#, fuzzy\nmsgid "Half done"\nmsgstr "Halb fertig"\n',
        encoding="utf-8",
    )
    settings.LOCALE_PATHS = [tmp_path]

    call_command("compile_translations", verbosity=0)

    with (locale / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.gettext("Zebra crossing") == "Zebrastreifen"
    assert compiled.gettext("Half done") == "Half done"  # fuzzy: left out, as msgfmt does


def test_compile_translations_refuses_a_broken_catalogue_and_keeps_the_old_mo(tmp_path, settings):
    locale = tmp_path / "de" / "LC_MESSAGES"
    locale.mkdir(parents=True)
    (locale / "django.mo").write_bytes(b"old")
    (locale / "django.po").write_text('msgid "Open quote\nmsgstr "x"\n', encoding="utf-8")
    settings.LOCALE_PATHS = [tmp_path]

    with pytest.raises(Exception, match=r"django\.po: line 1"):
        call_command("compile_translations", "--force", verbosity=0)

    assert (locale / "django.mo").read_bytes() == b"old"


@pytest.mark.parametrize(
    ("language", "date", "money"),
    [("en-gb", "1 December 2026, 17:55", "£4.50"), ("de", "1. Dezember 2026, 17:55", "4,50 £")],
)
def test_dates_and_money_read_as_each_language_writes_them(language, date, money):
    from datetime import datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    when = datetime(2026, 12, 1, 17, 55, tzinfo=ZoneInfo("Europe/London"))
    template = Template(
        '{% load l10n_money %}{{ when|date:"DATETIME_FORMAT" }}|{{ price|money }}|'
        '{{ when|time:"TIME_FORMAT" }}.'
    )

    with translation.override(language):
        text = template.render(Context({"when": when, "price": Decimal("4.5")}))

    assert text == f"{date}|{money}|17:55."
    assert ".." not in text


def test_large_amounts_are_grouped_the_languages_way():
    template = Template("{% load l10n_money %}{{ price|money }}")

    with translation.override("en-gb"):
        english = template.render(Context({"price": "1234.5"}))
    with translation.override("de"):
        german = template.render(Context({"price": "1234.5"}))

    assert (english, german) == ("£1,234.50", "1.234,50 £")


@pytest.mark.parametrize("language", ["en-gb", "de"])
def test_date_pickers_get_iso_dates_whatever_the_language(language):
    from datetime import date

    from governance.forms import VendorForm
    from personalization.dashboard.forms import ModeForm
    from personalization.oversight.forms import TrailFilterForm

    with translation.override(language):
        vendor = VendorForm(initial={"next_review": date(2027, 1, 31)})["next_review"]
        trail = TrailFilterForm(initial={"since": date(2027, 1, 31)})["since"]
        mode = ModeForm(initial={"paused_until": date(2027, 1, 31)}, today=date(2027, 1, 1))

    for field in (str(vendor), str(trail), str(mode["paused_until"])):
        assert 'type="date"' in field
        assert 'value="2027-01-31"' in field
