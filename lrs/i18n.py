"""The message catalogue of the LRS's pages (front page, dashboard), and numbers and dates
formatted for the reader's language.

Every text a page shows comes from `lrs/messages/<language>.json`, one file per language;
English is complete and is what any missing message falls back to, so a translation can be
added one file at a time (copy `en.json`, translate the values). Numbers, percentages and
dates are formatted by Babel (the Unicode CLDR data) for the chosen language.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

MESSAGES = Path(__file__).with_name("messages")
DEFAULT = "en"


@cache
def _messages(language: str) -> dict[str, str]:
    path = MESSAGES / f"{language}.json"
    if not path.is_file():
        return {}
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def languages() -> list[str]:
    """The languages with a catalogue, English first."""
    found = sorted(p.stem for p in MESSAGES.glob("*.json") if p.stem != DEFAULT)
    return [DEFAULT, *found]


class Catalogue:
    """Messages and formats for one language (a catalogue language, else English)."""

    def __init__(self, language: str = DEFAULT) -> None:
        self.language = language if language in languages() else DEFAULT
        try:
            self.locale = Locale.parse(self.language)
        except (UnknownLocaleError, ValueError):
            self.locale = Locale.parse(DEFAULT)

    @classmethod
    def best(cls, wanted: list[str]) -> Catalogue:
        """The catalogue of the first of `wanted` (Accept-Language order) that has one."""
        available = languages()
        for tag in wanted:
            primary = tag.split("-")[0].lower()
            if primary in available:
                return cls(primary)
        return cls(DEFAULT)

    def __call__(self, key: str, **params: object) -> str:
        text = _messages(self.language).get(key) or _messages(DEFAULT).get(key, key)
        return text.format(**params) if params else text

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float) -> str:
        return format_percent(value, locale=self.locale, format="#,##0.#%")

    def day(self, value: date | datetime) -> str:
        return format_date(value, format="medium", locale=self.locale)

    def month(self, value: date | datetime) -> str:
        return format_date(value, format="MMM y", locale=self.locale)
