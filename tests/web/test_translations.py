"""The Chinese catalog is complete, compiled, and in step with the templates and the code.

The strings are extracted here in Python (Django's `templatize` for templates, `ast` for code), so
that the check runs where GNU gettext is not installed.
"""

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils.translation.template import templatize

import moonvault

SOURCE = Path(moonvault.__file__).parent
CATALOG = SOURCE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOG.with_suffix(".mo")

GETTEXT_CALLS = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}
STRING = r"u?(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
TEMPLATE_CALL = re.compile(rf"\b(n?p?gettext)\(({STRING}(?:, {STRING})*)")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file: enough of the format for what makemessages and msgmerge write."""
    entries, entry, target = [], Entry(), None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if target is not None:
                entries.append(entry)
            entry, target = Entry(), None
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            line = line[2:].strip()
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        elif line.startswith("#"):
            continue
        if line.startswith('"'):
            text = ast.literal_eval(line)
        else:
            target, _, rest = line.partition(" ")
            text = ast.literal_eval(rest)
        if target.startswith("msgstr"):
            index = int(target[7:-1]) if "[" in target else 0
            entry.msgstr[index] = entry.msgstr.get(index, "") + text
        else:
            setattr(entry, target, (getattr(entry, target) or "") + text)
    return entries


@pytest.fixture(scope="module")
def catalog() -> list[Entry]:
    return [e for e in read_po(CATALOG) if e.msgid and not e.obsolete]


def catalog_keys(catalog) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in catalog}


def template_strings() -> dict[tuple[str | None, str], str]:
    found = {}
    for path in sorted(SOURCE.glob("**/templates/**/*.html")):
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for function, arguments in TEMPLATE_CALL.findall(code):
            strings = [ast.literal_eval(s) for s in re.findall(STRING, arguments)]
            context = strings.pop(0) if function.startswith(("pgettext", "npgettext")) else None
            found[(context, strings[0])] = str(path.relative_to(SOURCE))
    return found


def python_strings() -> dict[tuple[str | None, str], str]:
    found = {}
    for path in sorted(SOURCE.glob("**/*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in GETTEXT_CALLS:
                continue
            literals = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if not literals or not all(isinstance(s, str) for s in literals):
                continue
            context = literals.pop(0) if name.startswith(("pgettext", "npgettext")) else None
            found[(context, literals[0])] = f"{path.relative_to(SOURCE)}:{node.lineno}"
    return found


def test_the_catalog_is_not_empty(catalog):
    assert len(catalog) > 100


def test_every_message_is_translated_and_none_is_fuzzy(catalog):
    untranslated = [e.msgid for e in catalog if not e.msgstr or not all(e.msgstr.values())]
    fuzzy = [e.msgid for e in catalog if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_the_header_is_final_and_declares_chinese(catalog):
    header = next(e for e in read_po(CATALOG) if e.msgid == "")
    assert "fuzzy" not in header.flags
    assert "Language: zh_Hans\n" in header.msgstr[0]
    assert "charset=UTF-8" in header.msgstr[0]


def test_translations_keep_every_placeholder(catalog):
    for entry in catalog:
        wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for text in entry.msgstr.values():
            assert sorted(PLACEHOLDER.findall(text)) == wanted, entry.msgid


def not_in_catalog(found: dict, catalog) -> str:
    known = catalog_keys(catalog)
    return "\n".join(f"{where}: {key[1]!r}" for key, where in found.items() if key not in known)


def test_every_template_string_is_in_the_catalog(catalog):
    missing = not_in_catalog(template_strings(), catalog)
    assert not missing, f"run makemessages -l zh_Hans and translate:\n{missing}"


def test_every_python_string_marked_for_translation_is_in_the_catalog(catalog):
    missing = not_in_catalog(python_strings(), catalog)
    assert not missing, f"run makemessages -l zh_Hans and translate:\n{missing}"


def test_the_compiled_catalog_matches_the_source(catalog):
    with COMPILED.open("rb") as compiled:
        translations = gettext.GNUTranslations(compiled)
    for entry in catalog:
        if entry.msgid_plural is not None:
            got = translations.ngettext(entry.msgid, entry.msgid_plural, 1)
        elif entry.msgctxt is not None:
            got = translations.pgettext(entry.msgctxt, entry.msgid)
        else:
            got = translations.gettext(entry.msgid)
        assert got == entry.msgstr[0], f"compile the catalog again: {entry.msgid!r}"


def test_the_glossary_terms_are_used(catalog):
    translated = {e.msgid: e.msgstr[0] for e in catalog}
    assert translated["Scooped regolith"] == "表取月壤"
    assert translated["Permanent storage"] == "永久存储样品"
    assert translated["Backup permanent storage"] == "永久备份存储样品"
    assert translated["Research"] == "研究样品"
    assert translated["Public benefit"] == "公益样品（展览、科普）"
    assert translated["Thin section"] == "薄片"
    assert translated["Handling loss"] == "操作损耗"
    assert translated["Split"] == "分样"
    assert translated["Genealogy"] == "样品谱系"
