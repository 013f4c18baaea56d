"""Command names and descriptions in Korean, from the same message catalogue as everything else.

Each `locale_str` in the cogs carries `key=` (a catalogue key); English is the default text in code,
Korean comes from the catalogue for Discord's `ko` locale.
"""

from __future__ import annotations

from discord import Locale, app_commands

from bot.i18n import keys, t


class CatalogueTranslator(app_commands.Translator):
    async def translate(
        self, string: app_commands.locale_str, locale: Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        key = string.extras.get("key")
        if locale is not Locale.korean or not key or key not in keys():
            return None
        return t(key, "ko")
