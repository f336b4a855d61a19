"""Fill the English catalog: English is the source language, so every msgstr is its msgid.

Run by ``make translations`` after the catalogs were updated from the code.
"""

import pathlib

from babel.messages.pofile import read_po, write_po

CATALOG = (
    pathlib.Path(__file__).resolve().parents[1]
    / "crowdsource/translations/en/LC_MESSAGES/messages.po"
)


def main():
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if not message.id:
            continue
        message.string = tuple(message.id) if message.pluralizable else message.id
        message.flags.discard("fuzzy")
    with CATALOG.open("wb") as handle:
        write_po(handle, catalog, width=100)


if __name__ == "__main__":
    main()
