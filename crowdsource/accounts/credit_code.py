"""The unified social credit code (统一社会信用代码) of GB 32100-2015.

Eighteen characters from a 31-character alphabet (digits and capitals without I, O, Z, S, V):
registration authority, organization category, six-digit administrative division code, the
nine-character organization code, and a check character computed over the first seventeen.
"""

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def normalize(code):
    """The code as it is stored: surrounding spaces removed, letters upper-cased."""
    return (code or "").strip().upper()


def check_character(first_seventeen):
    """The check character for the first seventeen characters of a code."""
    total = sum(
        ALPHABET.index(char) * weight for char, weight in zip(first_seventeen, WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def problem(code):
    """Why ``code`` (already normalized) is not a valid credit code, or None if it is."""
    if len(code) != LENGTH:
        return "length"
    if any(char not in ALPHABET for char in code):
        return "characters"
    if not code[2:8].isdigit():
        return "division"
    if check_character(code[:17]) != code[17]:
        return "check"
    return None


def is_valid(code):
    return problem(normalize(code)) is None
