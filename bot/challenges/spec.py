"""What every part of a challenge file shares: strict models, texts in both languages, timed hints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.values import Duration


class Strict(BaseModel):
    """Unknown keys are errors: a typo never silently disables a setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in both languages of the course."""

    ko: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


class Hint(Strict):
    after: Duration
    ko: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def text(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en
