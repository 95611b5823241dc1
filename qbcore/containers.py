"""ISO 6346 container numbers: the check digit every real container number carries."""

from __future__ import annotations

import string

# Letter values skip multiples of 11 (11, 22, 33), as the standard says.
_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _letter in string.ascii_uppercase:
    if _value % 11 == 0:
        _value += 1
    _LETTER_VALUES[_letter] = _value
    _value += 1


def check_digit(first_ten: str) -> int:
    """The ISO 6346 check digit of owner code + category + serial (10 characters)."""
    if len(first_ten) != 10:
        raise ValueError("a container number has 10 characters before its check digit")
    total = 0
    for position, char in enumerate(first_ten.upper()):
        value = _LETTER_VALUES[char] if char.isalpha() else int(char)
        total += value * (2**position)
    return total % 11 % 10


def is_valid_container_number(number: str) -> bool:
    """True for an 11-character container number whose check digit is right."""
    number = number.strip().upper()
    if len(number) != 11 or not number[:4].isalpha() or not number[4:].isdigit():
        return False
    if number[3] not in "UJZ":
        return False
    return check_digit(number[:10]) == int(number[10])


def make_container_number(owner_prefix: str, serial: int) -> str:
    """A valid container number from a 4-letter prefix (e.g. MSCU) and a 6-digit serial."""
    head = f"{owner_prefix.upper()}{serial:06d}"
    return f"{head}{check_digit(head)}"
