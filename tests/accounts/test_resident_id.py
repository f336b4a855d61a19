"""The resident ID number's checks (GB 11643-1999): the ISO 7064 MOD 11-2 check character, a
real birth date that has passed, and the forms people type it in."""

import datetime as dt

import pytest

from crowdsource.accounts import resident_id

TODAY = dt.date(2026, 12, 4)

#: numbers whose check characters were computed by hand from the standard's weights; the first
#: is the standard's own example (Beijing, born 31 December 1949)
VALID = [
    "11010519491231002X",
    "370202199003071233",
    "440304198511020514",
    "510107200002293019",  # born on 29 February 2000, a leap day
]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers_pass(number):
    assert resident_id.problem(number, TODAY) is None


def test_the_check_character_is_iso_7064_mod_11_2():
    # sum of digit × 2^(17-i) mod 11 → 1 0 X 9 8 7 6 5 4 3 2
    assert resident_id.check_character("11010519491231002") == "X"
    assert resident_id.check_character("37020219900307123") == "3"
    assert resident_id.check_character("00000000000000000") == "1"


@pytest.mark.parametrize(
    "number",
    ["110105194912310021", "370202199003071234", "44030419851102051X", "510107200002293010"],
)
def test_a_wrong_check_character_is_refused(number):
    assert resident_id.problem(number, TODAY) == "check"


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("370202199002301236", "30 February"),
        ("510107200102293016", "29 February of a year that is no leap year"),
        ("370202199013071230", "month 13"),
        ("370202199003001239", "day 0"),
        ("370202188001011230", "before 1890"),
    ],
)
def test_a_birth_date_that_is_no_real_date_is_refused(number, why):
    first_seventeen = number[:17]
    number = first_seventeen + resident_id.check_character(first_seventeen)  # a right check
    assert resident_id.problem(number, TODAY) == "birth_date", why


def test_a_birth_date_in_the_future_is_refused_but_today_is_taken():
    tomorrow = "37020220261205123"
    today = "37020220261204123"
    assert resident_id.problem(tomorrow + resident_id.check_character(tomorrow), TODAY) == (
        "birth_date"
    )
    assert resident_id.problem(today + resident_id.check_character(today), TODAY) is None


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("11010519491231002", "length"),
        ("11010519491231002XX", "length"),
        ("", "length"),
        ("1101051949123100AX", "characters"),
        ("11010519491231002Y", "characters"),
        ("X10105194912310021", "characters"),
    ],
)
def test_the_shape_is_checked_first(number, problem):
    assert resident_id.problem(number, TODAY) == problem


def test_a_lowercase_x_spaces_and_full_width_digits_are_normalized():
    assert resident_id.normalize(" 110105 19491231 002x ") == "11010519491231002X"
    assert resident_id.normalize("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert resident_id.problem(resident_id.normalize("11010519491231002x"), TODAY) is None


def test_other_unicode_digits_are_not_digits_of_a_number():
    arabic_indic = "١١٠١٠٥١٩٤٩١٢٣١٠٠٢"  # isdigit() is true for them
    assert resident_id.problem(resident_id.normalize(arabic_indic + "X"), TODAY) == "characters"


def test_the_fingerprint_is_keyed_and_stable_and_the_last_four_is_all_that_is_shown():
    number = "11010519491231002X"
    one = resident_id.fingerprint(number, "key one")
    assert one == resident_id.fingerprint(number, "key one")
    assert one != resident_id.fingerprint(number, "key two")
    assert one != resident_id.fingerprint("370202199003071233", "key one")
    assert len(one) == 64 and number not in one
    assert resident_id.last_four(number) == "002X"
