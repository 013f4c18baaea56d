"""A challenge's hand-in form (challenge.yaml `submission:`): its fields, as a Discord modal can show them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bot.challenges.spec import Strict as _Strict
from bot.challenges.spec import Text
from bot.limits import TEXT_INPUT_MAX

#: What Discord accepts in a modal: at most 5 text inputs, a label of 45 characters, a placeholder
#: of 100, and an answer of `bot.limits.TEXT_INPUT_MAX`.
MODAL_INPUTS_MAX = 5
MODAL_LABEL_MAX = 45
MODAL_PLACEHOLDER_MAX = 100
#: Columns every submission export has; a field may not take one of these ids.
SUBMISSION_COMMON_COLUMNS = ("submission", "challenge", "team", "submitted_at", "submitted_by", "run", "current")


class SubmissionFieldSpec(_Strict):
    """One item of the hand-in: a text input of the modal, or (`auto`) a value the bot fills in."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: Text
    placeholder: Text | None = None
    required: bool = True
    max_length: int = Field(default=1000, ge=1, le=TEXT_INPUT_MAX)
    style: Literal["short", "paragraph"] = "short"
    #: How the answer is checked: a GitHub repository URL (normalised), or a time of day HH:MM.
    format: Literal["github_url", "hhmm"] | None = None
    #: Filled in by the bot, not typed: `completion_time` is when the run finished (else the moment
    #: of submitting), HH:MM in the class's time zone.
    auto: Literal["completion_time"] | None = None

    @model_validator(mode="after")
    def _fits_discord(self) -> SubmissionFieldSpec:
        for name, text, limit in (
            ("label", self.label, MODAL_LABEL_MAX),
            ("placeholder", self.placeholder, MODAL_PLACEHOLDER_MAX),
        ):
            for lang in ("ko", "en"):
                value = getattr(text, lang) if text is not None else ""
                if len(value) > limit:
                    raise ValueError(
                        f"{name}.{lang} is {len(value)} characters; Discord shows at most {limit} in a modal"
                    )
        if self.id in SUBMISSION_COMMON_COLUMNS:
            raise ValueError(f"id {self.id!r} is one of the export's common columns; choose another")
        if self.auto is not None and (self.placeholder is not None or self.format is not None):
            raise ValueError("an `auto` field is filled in by the bot: it takes no placeholder or format")
        return self


class SubmissionSpec(_Strict):
    """The challenge's hand-in form (`/challenge submit`): the team is added by the bot."""

    fields: list[SubmissionFieldSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_modal(self) -> SubmissionSpec:
        ids = [f.id for f in self.fields]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate field ids: {', '.join(duplicates)}")
        typed = len(self.inputs)
        if typed == 0:
            raise ValueError("the form has no field the team types in (every field is `auto`)")
        if typed > MODAL_INPUTS_MAX:
            raise ValueError(f"{typed} fields to type in; a Discord modal holds at most {MODAL_INPUTS_MAX}")
        return self

    @property
    def inputs(self) -> list[SubmissionFieldSpec]:
        """The fields the team types in, in order: the modal's text inputs."""
        return [f for f in self.fields if f.auto is None]
