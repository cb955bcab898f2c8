"""Amounts in words for the counter (wallet.core.amount_words): English in the
Indian system and Hindi, whose 1 to 99 are a table of irregular words."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.core.amount_words import Language, announcement, number_words, paise_words


@pytest.mark.parametrize(("n", "english", "hindi"), [
    (0, "zero", "शून्य"),
    (1, "one", "एक"),
    (9, "nine", "नौ"),
    (11, "eleven", "ग्यारह"),
    (19, "nineteen", "उन्नीस"),
    (20, "twenty", "बीस"),
    (21, "twenty-one", "इक्कीस"),
    (29, "twenty-nine", "उनतीस"),
    (39, "thirty-nine", "उनतालीस"),
    (47, "forty-seven", "सैंतालीस"),
    (49, "forty-nine", "उनचास"),
    (50, "fifty", "पचास"),
    (55, "fifty-five", "पचपन"),
    (67, "sixty-seven", "सड़सठ"),
    (79, "seventy-nine", "उनासी"),
    (89, "eighty-nine", "नवासी"),
    (99, "ninety-nine", "निन्यानवे"),
    (100, "one hundred", "एक सौ"),
    (105, "one hundred and five", "एक सौ पाँच"),
    (250, "two hundred and fifty", "दो सौ पचास"),
    (999, "nine hundred and ninety-nine", "नौ सौ निन्यानवे"),
    (1_000, "one thousand", "एक हज़ार"),
    (1_050, "one thousand and fifty", "एक हज़ार पचास"),
    (12_345, "twelve thousand three hundred and forty-five", "बारह हज़ार तीन सौ पैंतालीस"),
    (1_00_000, "one lakh", "एक लाख"),
    (1_00_005, "one lakh and five", "एक लाख पाँच"),
    (2_50_000, "two lakh fifty thousand", "दो लाख पचास हज़ार"),
    (99_99_999, "ninety-nine lakh ninety-nine thousand nine hundred and ninety-nine",
     "निन्यानवे लाख निन्यानवे हज़ार नौ सौ निन्यानवे"),
    (1_00_00_000, "one crore", "एक करोड़"),
    (1_23_45_678,
     "one crore twenty-three lakh forty-five thousand six hundred and seventy-eight",
     "एक करोड़ तेईस लाख पैंतालीस हज़ार छह सौ अठहत्तर"),
    (150_00_00_000, "one hundred and fifty crore", "एक सौ पचास करोड़"),
])
def test_numbers_in_both_languages(n, english, hindi):
    assert number_words(n) == english
    assert number_words(n, Language.HINDI) == hindi
    assert number_words(n, "hi") == hindi


def test_the_hindi_table_has_a_word_of_its_own_for_each_number_to_99():
    words = [number_words(n, "hi") for n in range(1, 100)]
    assert len(set(words)) == 99
    assert all(" " not in word for word in words)  # one word each, never "चालीस सात"


@pytest.mark.parametrize(("paise", "english", "hindi"), [
    (25_000, "two hundred and fifty rupees", "दो सौ पचास रुपये"),
    (100, "one rupee", "एक रुपया"),
    (150, "one rupee and fifty paise", "एक रुपया पचास पैसे"),
    (1, "one paisa", "एक पैसा"),
    (75, "seventy-five paise", "पचहत्तर पैसे"),
    (0, "zero rupees", "शून्य रुपये"),
    (1_00_000_00, "one lakh rupees", "एक लाख रुपये"),
    (12_05, "twelve rupees and five paise", "बारह रुपये पाँच पैसे"),
])
def test_money(paise, english, hindi):
    assert paise_words(paise) == english
    assert paise_words(paise, "hi") == hindi


def test_what_the_counter_says():
    assert announcement("Chai Point", 250_00) == "Chai Point: two hundred and fifty rupees received"
    assert (announcement("चाय पॉइंट", 250_00, Language.HINDI)
            == "चाय पॉइंट: दो सौ पचास रुपये प्राप्त हुए")


def test_negative_amounts_and_unknown_languages_are_refused():
    with pytest.raises(ValueError):
        number_words(-1)
    with pytest.raises(ValueError):
        paise_words(-5, "hi")
    with pytest.raises(ValueError):
        number_words(5, "fr")


def _digits_back(words: str) -> int:
    """The number an English reading says, read back (a reference reader of
    its own, so the property test checks against another implementation)."""
    small = {w: i for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
    tens = {w: 10 * i for i, w in enumerate(
        "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
    scale = {"hundred": 100, "thousand": 1_000, "lakh": 1_00_000, "crore": 1_00_00_000}
    total = group = 0
    for word in words.replace("-", " ").split():
        if word == "and":
            continue
        if word in small:
            group += small[word]
        elif word in tens:
            group += tens[word]
        elif word == "hundred":
            group *= 100
        else:  # a place: what came before counts it (crores may count hundreds)
            size = scale[word]
            if size == 1_00_00_000:
                total, group = (total + group) * size, 0
            else:
                total, group = total + group * size, 0
    return total + group


@given(st.integers(min_value=0, max_value=10**12))
def test_english_reads_back_as_the_same_number(n):
    assert _digits_back(number_words(n)) == n
