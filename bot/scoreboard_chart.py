"""The chart of points over time, as a PNG for Discord: one step line per team that has solved something.

The x axis is minutes since each team's first start (elapsed time, as the class reads its timer), the y axis
the ranking's own points (`bot.scoreboard.series`). Titles and labels are in the class's language, in a
Hangul-capable font the image ships (Debian's fonts-nanum, or Noto CJK): matplotlib's own DejaVu has no
Hangul and would draw boxes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.i18n import Lang, t

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bot.standings import Series

#: Where Debian's packages put a font with Hangul: fonts-nanum, then fonts-noto-cjk.
HANGUL_FONTS = (
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


@cache
def hangul_font() -> str | None:
    """The family name of the first Hangul font installed, registered with matplotlib; None if none is."""
    from matplotlib import font_manager

    for path in HANGUL_FONTS:
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            return str(font_manager.FontProperties(fname=str(path)).get_name())
    return None


def chart_figure(series: Sequence[Series], *, title: str, lang: Lang = "en") -> Figure:
    """One step line per team that has solved something."""
    # Imported when a chart is drawn, not with the module: matplotlib is a quarter of the bot's memory and
    # most of its start-up time, for a command used now and then.
    from matplotlib.figure import Figure  # the object API needs no display, so the bot runs headless

    figure = Figure(figsize=(10, 5), dpi=100)
    axes = figure.subplots()
    for line in series:
        if not line.points:
            continue
        minutes = [0.0] + [seconds / 60 for seconds, _ in line.points]
        values = [0] + [points for _, points in line.points]
        axes.step(minutes, values, where="post", label=line.team)
    axes.set_title(title)
    axes.set_ylabel(t("scoreboard.chart_points", lang))
    axes.set_xlabel(t("scoreboard.chart_minutes", lang))
    axes.grid(True, alpha=0.3)
    if axes.get_lines():
        axes.legend(loc="upper left")
    return figure


def render_chart(series: Sequence[Series], *, title: str, lang: Lang = "en") -> bytes:
    import matplotlib

    font = hangul_font()
    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    buffer = io.BytesIO()
    # Glyphs are looked up when the text is laid out, at save: both happen inside the font setting.
    with matplotlib.rc_context({"font.family": families}):
        chart_figure(series, title=title, lang=lang).savefig(buffer, format="png")
    return buffer.getvalue()
