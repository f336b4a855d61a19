"""Amounts typed by people (crowdsource.money): digits grouped in threes by commas or not at all,
full-width digits and a ¥ prefix as typed with a Chinese input method; anything else is refused
with a message that says how to write it."""

import pytest
from flask_babel import force_locale

from crowdsource.money import MoneyError, parse_percent_bps, parse_yuan

GROUPING = "Group the digits in threes with commas, e.g. 12,500 or 1,250,000.50."
NOT_AN_AMOUNT = "Enter an amount in yuan, e.g. 12500 or 12500.50."


@pytest.fixture
def english(app):
    with app.test_request_context(), force_locale("en"):
        yield


@pytest.mark.parametrize(
    "text, fen",
    [
        ("100", 10_000),
        ("1,000", 100_000),
        ("1,000.5", 100_050),
        ("12,345,678.90", 1_234_567_890),
        ("999,999,999", 99_999_999_900),
        ("12500.50", 1_250_050),
        (" 60000 ", 6_000_000),
        (".5", 50),
        ("100.", 10_000),
        ("１２３", 12_300),
        ("１，０００", 100_000),
        ("12，345．6", 1_234_560),
        ("¥100", 10_000),
        ("￥1,000.50", 100_050),
        ("¥ 2,500", 250_000),
    ],
)
def test_an_amount_written_as_people_write_it_is_accepted(english, text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text", ["1,0,0", "1_000", "10,00", ",100", "1,000,00", "1,0000", "0,100", "1,000,", "1__0"]
)
def test_thousands_separators_out_of_their_groups_of_three_are_refused(english, text):
    with pytest.raises(MoneyError, match=GROUPING):
        parse_yuan(text)


@pytest.mark.parametrize(
    "text", ["abc", "1e3", "1E3", "NaN", "Infinity", "1 000", "1.000,50", "¥¥100", "+100", "-", "."]
)
def test_what_is_not_an_amount_in_yuan_is_refused(english, text):
    with pytest.raises(MoneyError, match=NOT_AN_AMOUNT):
        parse_yuan(text)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Enter an amount."),
        ("¥", "Enter an amount."),
        ("12.345", r"Use at most two decimals \(fen\)."),
        ("-5", "The amount must be more than zero."),
        ("0", "The amount must be more than zero."),
        ("1,000,000,001", "The amount is too large."),
        ("9" * 5000, "The amount is too large."),
    ],
)
def test_an_amount_out_of_its_bounds_says_which(english, text, message):
    with pytest.raises(MoneyError, match=message):
        parse_yuan(text)


def test_the_message_is_in_the_readers_language(app):
    with app.test_request_context(), force_locale("zh_CN"):
        with pytest.raises(MoneyError) as refused:
            parse_yuan("1,0,0")
        assert str(refused.value) == "请用逗号每三位分组，例如：12,500 或 1,250,000.50。"


@pytest.mark.parametrize(
    "text, bps",
    [("12.5", 1250), ("12.5%", 1250), ("１０％", 1000), ("0", 0), ("", 0), ("100", 10_000)],
)
def test_a_percentage_is_digits_and_decimals(english, text, bps):
    assert parse_percent_bps(text) == bps


@pytest.mark.parametrize("text", ["1_0", "1,0", "1e1", "ten", "NaN"])
def test_a_percentage_with_separators_or_exponents_is_refused(english, text):
    with pytest.raises(MoneyError, match=r"Enter a percentage, e.g. 10 or 12.5."):
        parse_percent_bps(text)
