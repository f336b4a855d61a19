"""The unified social credit code check of GB 32100-2015."""

from hypothesis import given
from hypothesis import strategies as st

from crowdsource.accounts import credit_code

ALPHABET = credit_code.ALPHABET


def test_the_standards_example_and_real_codes_are_valid():
    assert credit_code.is_valid("91350100M000100Y43")  # the example printed in GB 32100-2015
    assert credit_code.is_valid(" 91350100m000100y43 ")  # spaces and lower case are normalized


def test_each_kind_of_mistake_is_named():
    assert credit_code.problem("91350100M000100Y4") == "length"
    assert credit_code.problem("91350100M000100I43") == "characters"
    assert credit_code.problem("913501A0M000100Y43") == "division"
    assert credit_code.problem("91350100M000100Y44") == "check"


seventeen = st.tuples(
    st.text(ALPHABET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(ALPHABET, min_size=9, max_size=9),
).map("".join)


@given(seventeen, st.integers(0, 17), st.sampled_from(ALPHABET))
def test_any_single_wrong_character_is_detected(body, position, replacement):
    code = body + credit_code.check_character(body)
    assert credit_code.problem(code) is None
    typo = code[:position] + replacement + code[position + 1 :]
    if typo != code and typo[2:8].isdigit():
        assert credit_code.problem(typo) == "check"
