"""English number words: 4017 -> "four thousand seventeen" (the ``number-words`` data)."""

from __future__ import annotations

ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _below_thousand(n: int) -> list[str]:
    words = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
        if n:
            words.append(ONES[n])
    elif n or not words:
        words.append(ONES[n])
    return words


def number_to_words(n: int) -> str:
    """0 <= n < 10**9 in words, without "and" or hyphens: 4017 -> "four thousand seventeen"."""
    if not 0 <= n < 10**9:
        raise ValueError(f"number out of range: {n}")
    if n == 0:
        return "zero"
    words = []
    for scale, name in ((10**6, "million"), (10**3, "thousand")):
        if n >= scale:
            words += _below_thousand(n // scale) + [name]
            n %= scale
    if n:
        words += _below_thousand(n)
    return " ".join(words)
