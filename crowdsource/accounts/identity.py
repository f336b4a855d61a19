"""Identities that cannot be confused: how e-mail addresses and names are compared and stored.

Every place that stores, looks up or compares an e-mail address goes through
:func:`normalize_email`: NFKC (full-width ``Ａ`` is ``A``) and case folding, so
``Ａlice@example.com``, ``ALICE@EXAMPLE.COM`` and ``alice@ｅxample.com`` are one address.

Display names and organization names are stored as :func:`normalize_name` gives them: NFKC,
stripped, every run of white space one space. Two organization names that a reader cannot tell
apart share a :func:`name_key`, which the database keeps unique: the names are compared ignoring
case, width, white space and invisible format characters, and letters that look alike are the
same letter by the confusables of Unicode TR39 (Cyrillic ``а`` is Latin ``a``, ``0`` is ``O``),
through ICU's skeleton.
"""

import hashlib
import unicodedata

import icu
from flask_babel import lazy_gettext as _l

from crowdsource.errors import DomainError

# A checker is only read (getSkeleton), which ICU allows from several threads at once.
_SPOOF_CHECKER = icu.SpoofChecker()


def fold(text):
    """``text`` NFKC-normalised and case-folded (NFKC again, since folding may undo it)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text or "").casefold())


def normalize_email(email):
    """The form in which an e-mail address is stored and compared."""
    return fold(email).strip()


def normalize_name(name):
    """A display or organization name as it is stored: NFKC, one space between words."""
    return " ".join(unicodedata.normalize("NFKC", name or "").split())


def clean_name(name, field, max_length):
    """``name`` normalised; raises DomainError at ``field`` if nothing is left of it or it is
    longer than ``max_length`` once normalised (NFKC may lengthen it: ``㈱`` is ``(株)``)."""
    name = normalize_name(name)
    if not name:
        raise DomainError(_l("This field is required."), field=field)
    if len(name) > max_length:
        raise DomainError(_l("Use at most %(max)d characters.", max=max_length), field=field)
    return name


def _visible(character):
    return not (
        character.isspace()
        or unicodedata.category(character) == "Cf"  # zero-width spaces and joiners, bidi marks
        or "\ufe00" <= character <= "\ufe0f"  # variation selectors
        or "\U000e0100" <= character <= "\U000e01ef"
    )


def name_skeleton(name):
    """What ``name`` looks like: case-folded, without white space or invisible characters, each
    letter replaced by the prototype of its TR39 confusables (ICU's skeleton), folded again
    because some prototypes are capitals (``0`` looks like ``O``)."""
    visible = "".join(filter(_visible, fold(normalize_name(name))))
    return fold(_SPOOF_CHECKER.getSkeleton(0, visible))


def name_key(name):
    """The key that organization names which look alike share: the SHA-256 (hex) of their
    skeleton. The digest has a fixed length, where a skeleton can be six times as long as the
    name, longer than PostgreSQL indexes."""
    return hashlib.sha256(name_skeleton(name).encode()).hexdigest()
