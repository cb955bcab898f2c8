"""Amounts in words, as a shop's counter says them aloud: English in the
Indian system (thousand, lakh, crore) and Hindi.

Hindi's numbers from 1 to 99 are irregular (47 is सैंतालीस, not "चालीस सात"), so
they are a table; hundreds, thousands, lakhs and crores are built on it, as
the English ones are built on English's 1 to 99.
"""
from __future__ import annotations

from enum import StrEnum

__all__ = ["Language", "announcement", "number_words", "paise_words"]


class Language(StrEnum):
    ENGLISH = "en"
    HINDI = "hi"


_EN_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()

#: 0 to 99 in Hindi (index = the number).
_HI = ("शून्य एक दो तीन चार पाँच छह सात आठ नौ "
       "दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह अठारह उन्नीस "
       "बीस इक्कीस बाईस तेईस चौबीस पच्चीस छब्बीस सत्ताईस अट्ठाईस उनतीस "
       "तीस इकतीस बत्तीस तैंतीस चौंतीस पैंतीस छत्तीस सैंतीस अड़तीस उनतालीस "
       "चालीस इकतालीस बयालीस तैंतालीस चवालीस पैंतालीस छियालीस सैंतालीस अड़तालीस उनचास "
       "पचास इक्यावन बावन तिरेपन चौवन पचपन छप्पन सत्तावन अट्ठावन उनसठ "
       "साठ इकसठ बासठ तिरेसठ चौंसठ पैंसठ छियासठ सड़सठ अड़सठ उनहत्तर "
       "सत्तर इकहत्तर बहत्तर तिहत्तर चौहत्तर पचहत्तर छिहत्तर सतहत्तर अठहत्तर उनासी "
       "अस्सी इक्यासी बयासी तिरासी चौरासी पचासी छियासी सत्तासी अट्ठासी नवासी "
       "नब्बे इक्यानवे बानवे तिरानवे चौरानवे पचानवे छियानवे सत्तानवे अट्ठानवे निन्यानवे").split()
assert len(_HI) == 100

#: The Indian places above a hundred, largest first: (size, English, Hindi).
_PLACES = ((1_00_00_000, "crore", "करोड़"), (1_00_000, "lakh", "लाख"),
           (1_000, "thousand", "हज़ार"))


def _english_below_100(n: int) -> str:
    if n < 20:
        return _EN_ONES[n]
    tens, ones = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")


def number_words(n: int, language: Language | str = Language.ENGLISH) -> str:
    """``n`` (0 or more) in words: 1,23,45,678 is "one crore twenty-three lakh
    forty-five thousand six hundred and seventy-eight", or "एक करोड़ तेईस लाख
    पैंतालीस हज़ार छह सौ अठहत्तर"; above 99 crore the crores are counted the
    same way ("one hundred crore")."""
    if n < 0:
        raise ValueError("a negative amount has no words here")
    hindi = Language(language) == Language.HINDI
    if n == 0:
        return _HI[0] if hindi else _EN_ONES[0]
    parts: list[str] = []
    for size, english, hindi_word in _PLACES:
        count, n = divmod(n, size)
        if count:
            # Crores above 99 count in words themselves (the lakh and thousand stay < 100).
            parts.append(f"{number_words(count, language)} {hindi_word if hindi else english}")
    hundreds, rest = divmod(n, 100)
    if hundreds:
        parts.append(f"{_HI[hundreds]} सौ" if hindi else f"{_EN_ONES[hundreds]} hundred")
    if rest:
        if hindi:
            parts.append(_HI[rest])
        else:  # "two hundred and fifty", "one lakh and five": British and Indian English
            parts.append(("and " if parts else "") + _english_below_100(rest))
    return " ".join(parts)


def paise_words(amount_paise: int, language: Language | str = Language.ENGLISH) -> str:
    """An amount of money in words: 25000 is "two hundred and fifty rupees" /
    "दो सौ पचास रुपये"; 150 "one rupee and fifty paise" / "एक रुपया पचास पैसे"."""
    if amount_paise < 0:
        raise ValueError("a negative amount has no words here")
    hindi = Language(language) == Language.HINDI
    rupees, paise = divmod(amount_paise, 100)
    parts = []
    if rupees or not paise:
        unit = ("रुपया" if rupees == 1 else "रुपये") if hindi else (
            "rupee" if rupees == 1 else "rupees")
        parts.append(f"{number_words(rupees, language)} {unit}")
    if paise:
        unit = ("पैसा" if paise == 1 else "पैसे") if hindi else ("paisa" if paise == 1 else "paise")
        parts.append(f"{number_words(paise, language)} {unit}")
    return (" " if hindi else " and ").join(parts)


def announcement(store_name: str, amount_paise: int,
                 language: Language | str = Language.ENGLISH) -> str:
    """What the counter says of a payment: "Chai Point: two hundred and fifty
    rupees received" / "Chai Point: दो सौ पचास रुपये प्राप्त हुए" (the store's
    name as the shop wrote it)."""
    words = paise_words(amount_paise, language)
    if Language(language) == Language.HINDI:
        return f"{store_name}: {words} प्राप्त हुए"
    return f"{store_name}: {words} received"
