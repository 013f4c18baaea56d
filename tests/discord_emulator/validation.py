"""Discord's documented limits, answered with its real ``Invalid Form Body`` errors (code 50035)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .core import ApiError, FormErrors

MESSAGE_CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
ACTION_ROWS_MAX = 5
ROW_WIDTH_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
SELECT_PLACEHOLDER_MAX = 150
V2_COMPONENTS_MAX = 40
V2_TEXT_MAX = 4000
THREAD_NAME_MAX = 100
CHANNEL_NAME_MAX = 100
MODAL_TITLE_MAX = 45
MODAL_COMPONENTS_MAX = 5
TEXT_INPUT_LABEL_MAX = 45
TEXT_INPUT_VALUE_MAX = 4000
TEXT_INPUT_PLACEHOLDER_MAX = 100
LABEL_DESCRIPTION_MAX = 100
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_VALUE_MAX = 100
ATTACHMENTS_MAX = 10
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25

FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_VOICE_MESSAGE = 1 << 13
FLAG_COMPONENTS_V2 = 1 << 15

SELECT_TYPES = {3, 5, 6, 7, 8}
V2_TOP_LEVEL = {1, 9, 10, 12, 13, 14, 17}


def walk_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every component, depth first, through rows, sections (and their accessory), containers and labels."""
    for component in components or []:
        yield component
        yield from walk_components(component.get("components") or [])
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                yield from walk_components([child])


def _http_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://", "attachment://"))


def embed_length(embed: dict[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for field in embed.get("fields") or []:
        total += len(field.get("name") or "") + len(field.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def check_embeds(embeds: Any, errors: FormErrors) -> None:
    if embeds is None:
        return
    if not isinstance(embeds, list):
        errors.add(["embeds"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    if len(embeds) > EMBEDS_MAX:
        errors.add(["embeds"], "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        path: list[str | int] = ["embeds", i]
        errors.max_length([*path, "title"], embed.get("title"), EMBED_TITLE_MAX)
        errors.max_length([*path, "description"], embed.get("description"), EMBED_DESCRIPTION_MAX)
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            errors.add([*path, "fields"], "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_FIELDS_MAX} or fewer in length.")
        for j, field in enumerate(fields):
            for key, limit in (("name", EMBED_FIELD_NAME_MAX), ("value", EMBED_FIELD_VALUE_MAX)):
                value = field.get(key)
                if value is None or value == "":
                    errors.required([*path, "fields", j, key])
                else:
                    errors.max_length([*path, "fields", j, key], value, limit)
        footer = embed.get("footer")
        if footer is not None:
            if not footer.get("text"):
                errors.required([*path, "footer", "text"])
            errors.max_length([*path, "footer", "text"], footer.get("text"), EMBED_FOOTER_MAX)
        author = embed.get("author")
        if author is not None:
            if not author.get("name"):
                errors.required([*path, "author", "name"])
            errors.max_length([*path, "author", "name"], author.get("name"), EMBED_AUTHOR_MAX)
        colour = embed.get("color")
        if colour is not None and not (isinstance(colour, int) and 0 <= colour <= 0xFFFFFF):
            errors.add([*path, "color"], "NUMBER_TYPE_MAX", "int value should be less than or equal to 16777215.")
        for key, sub in (
            ("url", None),
            ("image", "url"),
            ("thumbnail", "url"),
            ("author", "url"),
            ("footer", "icon_url"),
        ):
            value = embed.get(key) if sub is None else (embed.get(key) or {}).get(sub)
            if value is not None and not _http_url(value):
                errors.add([*path, key] + ([sub] if sub else []), "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        total += embed_length(embed)
    if total > EMBED_TOTAL_MAX:
        errors.add(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}")


def _check_button(button: dict[str, Any], path: list[str | int], errors: FormErrors) -> None:
    style = button.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        errors.add([*path, "style"], "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
    if style == 5:
        if not _http_url(button.get("url")):
            errors.add([*path, "url"], "BUTTON_COMPONENT_URL_REQUIRED", "A url is required")
        if button.get("custom_id") is not None:
            errors.add([*path, "custom_id"], "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED", "A custom id is not allowed")
    elif style in (1, 2, 3, 4) and not button.get("custom_id"):
        errors.add([*path, "custom_id"], "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED", "A custom id is required")
    errors.max_length([*path, "label"], button.get("label"), BUTTON_LABEL_MAX)
    if style != 6 and not button.get("label") and not button.get("emoji"):
        errors.add([*path], "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED", "A label or emoji is required")


def _check_select(select: dict[str, Any], path: list[str | int], errors: FormErrors) -> None:
    if not select.get("custom_id"):
        errors.required([*path, "custom_id"])
    errors.max_length([*path, "placeholder"], select.get("placeholder"), SELECT_PLACEHOLDER_MAX)
    low, high = select.get("min_values", 1), select.get("max_values", 1)
    if not 0 <= low <= 25:
        errors.add([*path, "min_values"], "NUMBER_TYPE_MAX", "int value should be less than or equal to 25.")
    if not 1 <= high <= 25:
        errors.add([*path, "max_values"], "NUMBER_TYPE_MAX", "int value should be less than or equal to 25.")
    if select.get("type") == 3:
        options = select.get("options") or []
        if not 1 <= len(options) <= SELECT_OPTIONS_MAX:
            errors.add([*path, "options"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length.")
        for k, option in enumerate(options):
            for key in ("label", "value"):
                errors.bad_length([*path, "options", k, key], option.get(key) or "", 1, 100)
            errors.max_length([*path, "options", k, "description"], option.get("description"), 100)


def check_message_components(components: Any, flags: int, errors: FormErrors) -> None:
    if components is None:
        return
    if not isinstance(components, list):
        errors.add(["components"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    v2 = bool(flags & FLAG_COMPONENTS_V2)
    if v2:
        count = sum(1 for _ in walk_components(components))
        if count > V2_COMPONENTS_MAX:
            errors.add(["components"], "BASE_TYPE_MAX_LENGTH", f"Must be {V2_COMPONENTS_MAX} or fewer in length.")
        text = sum(len(c.get("content") or "") for c in walk_components(components) if c.get("type") == 10)
        if text > V2_TEXT_MAX:
            errors.add(["components"], "BASE_TYPE_MAX_LENGTH", f"Text must be {V2_TEXT_MAX} or fewer in length.")
    elif len(components) > ACTION_ROWS_MAX:
        errors.add(["components"], "BASE_TYPE_MAX_LENGTH", f"Must be {ACTION_ROWS_MAX} or fewer in length.")
    for i, top in enumerate(components):
        allowed = V2_TOP_LEVEL if v2 else {1}
        if top.get("type") not in allowed:
            errors.add(
                ["components", i, "type"],
                "UNION_TYPE_CHOICES",
                f'Value of field "type" must be one of {sorted(allowed)}.',
            )
    seen: set[str] = set()

    def visit(items: list[dict[str, Any]], path: list[str | int]) -> None:
        for i, component in enumerate(items):
            here = [*path, i]
            kind = component.get("type")
            custom_id = component.get("custom_id")
            if custom_id is not None:
                errors.bad_length([*here, "custom_id"], custom_id, 1, CUSTOM_ID_MAX)
                if custom_id in seen:
                    errors.add(
                        [*here, "custom_id"],
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(custom_id)
            if kind == 1:
                row = component.get("components") or []
                if not 1 <= len(row) <= ROW_WIDTH_MAX:
                    errors.add([*here, "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
                if any(c.get("type") in SELECT_TYPES for c in row) and len(row) > 1:
                    errors.add(
                        [*here, "components"],
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "The specified component exceeds the maximum width",
                    )
                visit(row, [*here, "components"])
            elif kind == 2:
                _check_button(component, here, errors)
            elif kind in SELECT_TYPES:
                _check_select(component, here, errors)
            elif kind in (9, 17):
                visit(component.get("components") or [], [*here, "components"])
                accessory = component.get("accessory")
                if isinstance(accessory, dict):
                    visit([accessory], [*here, "accessory"])

    visit(components, ["components"])


def check_message(payload: dict[str, Any], *, n_files: int, creating: bool) -> None:
    """Validate a message create/edit body (channel message, interaction response, webhook followup)."""
    errors = FormErrors()
    flags = int(payload.get("flags") or 0)
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        content = str(content)
    errors.max_length(["content"], content, MESSAGE_CONTENT_MAX)
    check_embeds(payload.get("embeds"), errors)
    check_message_components(payload.get("components"), flags, errors)
    if flags & FLAG_COMPONENTS_V2:
        for key in ("content", "embeds"):
            if payload.get(key):
                errors.add(
                    [key],
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
                )
    attachments = payload.get("attachments")
    if (isinstance(attachments, list) and len(attachments) > ATTACHMENTS_MAX) or n_files > ATTACHMENTS_MAX:
        errors.add(["attachments"], "BASE_TYPE_MAX_LENGTH", f"Must be {ATTACHMENTS_MAX} or fewer in length.")
    errors.raise_if_any()
    if creating:
        has_something = (
            bool(content)
            or bool(payload.get("embeds"))
            or bool(payload.get("components"))
            or n_files > 0
            or bool(payload.get("sticker_ids"))
            or bool(payload.get("poll"))
        )
        if not has_something:
            raise ApiError(400, 50006, "Cannot send an empty message")


def check_modal(data: dict[str, Any]) -> None:
    errors = FormErrors()
    path: list[str | int] = ["data"]
    title = data.get("title")
    if title is None:
        errors.required([*path, "title"])
    errors.bad_length([*path, "title"], title, 1, MODAL_TITLE_MAX)
    custom_id = data.get("custom_id")
    if custom_id is None:
        errors.required([*path, "custom_id"])
    errors.bad_length([*path, "custom_id"], custom_id, 1, CUSTOM_ID_MAX)
    components = data.get("components") or []
    if not 1 <= len(components) <= MODAL_COMPONENTS_MAX:
        errors.add(
            [*path, "components"], "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MODAL_COMPONENTS_MAX} in length."
        )
    for i, top in enumerate(components):
        here: list[str | int] = [*path, "components", i]
        kind = top.get("type")
        if kind == 1:
            row = top.get("components") or []
            if len(row) != 1:
                errors.add([*here, "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 1 in length.")
            for j, child in enumerate(row):
                _check_modal_input(child, [*here, "components", j], errors, inside_label=False)
        elif kind == 18:
            errors.bad_length([*here, "label"], top.get("label") or "", 1, TEXT_INPUT_LABEL_MAX)
            errors.max_length([*here, "description"], top.get("description"), LABEL_DESCRIPTION_MAX)
            child = top.get("component")
            if not isinstance(child, dict):
                errors.required([*here, "component"])
            else:
                _check_modal_input(child, [*here, "component"], errors, inside_label=True)
        elif kind != 10:
            errors.add([*here, "type"], "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1, 10, 18).')
    errors.raise_if_any()


def _check_modal_input(child: dict[str, Any], path: list[str | int], errors: FormErrors, *, inside_label: bool) -> None:
    errors.bad_length([*path, "custom_id"], child.get("custom_id") or "", 1, CUSTOM_ID_MAX)
    if child.get("type") == 4:
        if inside_label:
            if child.get("label") is not None:
                errors.add(
                    [*path, "label"], "TEXT_INPUT_LABEL_NOT_ALLOWED", "Label is not allowed inside a Label component"
                )
        else:
            errors.bad_length([*path, "label"], child.get("label") or "", 1, TEXT_INPUT_LABEL_MAX)
        errors.max_length([*path, "value"], child.get("value"), TEXT_INPUT_VALUE_MAX)
        errors.max_length([*path, "placeholder"], child.get("placeholder"), TEXT_INPUT_PLACEHOLDER_MAX)
        for key, low in (("min_length", 0), ("max_length", 1)):
            value = child.get(key)
            if value is not None and not low <= value <= TEXT_INPUT_VALUE_MAX:
                errors.add(
                    [*path, key],
                    "NUMBER_TYPE_MAX",
                    f"int value should be less than or equal to {TEXT_INPUT_VALUE_MAX}.",
                )
    elif child.get("type") in SELECT_TYPES:
        _check_select(child, path, errors)


def check_choices(data: dict[str, Any]) -> None:
    errors = FormErrors()
    choices = data.get("choices") or []
    if len(choices) > CHOICES_MAX:
        errors.add(["data", "choices"], "BASE_TYPE_MAX_LENGTH", f"Must be {CHOICES_MAX} or fewer in length.")
    for i, choice in enumerate(choices):
        errors.bad_length(["data", "choices", i, "name"], choice.get("name") or "", 1, CHOICE_NAME_MAX)
        value = choice.get("value")
        if isinstance(value, str):
            errors.max_length(["data", "choices", i, "value"], value, CHOICE_VALUE_MAX)
    errors.raise_if_any()


def check_commands(commands: Any) -> None:
    """The body of a bulk overwrite: a list of application commands."""
    errors = FormErrors()
    if not isinstance(commands, list):
        raise ApiError(400, 50109, "The request body contains invalid JSON.")
    if len(commands) > 100:
        errors.add([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    seen: set[tuple[str, int]] = set()
    for i, command in enumerate(commands):
        kind = command.get("type", 1)
        key = (command.get("name", ""), kind)
        if key in seen:
            errors.add([i, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
        seen.add(key)
        _check_command_like(command, [i], errors, chat_input=kind == 1)
    errors.raise_if_any()


def _check_command_like(item: dict[str, Any], path: list[str | int], errors: FormErrors, *, chat_input: bool) -> None:
    name = item.get("name") or ""
    if chat_input:
        if not COMMAND_NAME.match(name) or name != name.lower():
            errors.add([*path, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        errors.bad_length([*path, "description"], item.get("description") or "", 1, COMMAND_DESCRIPTION_MAX)
    else:
        errors.bad_length([*path, "name"], name, 1, 32)
    options = item.get("options") or []
    if len(options) > COMMAND_OPTIONS_MAX:
        errors.add([*path, "options"], "BASE_TYPE_MAX_LENGTH", f"Must be {COMMAND_OPTIONS_MAX} or fewer in length.")
    optional_seen = False
    names: set[str] = set()
    for j, option in enumerate(options):
        here = [*path, "options", j]
        if option.get("name") in names:
            errors.add(
                [*here, "name"], "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique"
            )
        names.add(option.get("name"))
        if option.get("type") in (1, 2):
            _check_command_like(option, here, errors, chat_input=True)
            continue
        _check_command_like({**option, "options": []}, here, errors, chat_input=True)
        if option.get("required"):
            if optional_seen:
                errors.add(
                    [*here, "required"],
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        choices = option.get("choices") or []
        if len(choices) > CHOICES_MAX:
            errors.add([*here, "choices"], "BASE_TYPE_MAX_LENGTH", f"Must be {CHOICES_MAX} or fewer in length.")
        if choices and option.get("autocomplete"):
            errors.add(
                [*here, "autocomplete"],
                "APPLICATION_COMMAND_AUTOCOMPLETE_REQUIRES_NO_CHOICES",
                "Autocomplete cannot be used with choices",
            )


def check_thread_name(name: Any, errors: FormErrors, path: list[str | int] | None = None) -> None:
    path = path or ["name"]
    if not isinstance(name, str):
        errors.required(path)
        return
    errors.bad_length(path, name, 1, THREAD_NAME_MAX)
