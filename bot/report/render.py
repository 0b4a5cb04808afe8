"""The report rendered to files: the A4 PDF (自评报告) by WeasyPrint and the radar chart as a PNG
(for the Official Account's image message) by CairoSVG, both from the page's own templates.

The PDF: the page's template and styles with a print stylesheet (page numbers, the enterprise
in the margin), Chinese from the system's fonts (Noto CJK), the chart as vector graphics.
Nothing is fetched: the styles are handed over as text and every URL is refused.

A PDF is about half a second of pure Python, which would hold the GIL against the chat:
`Renderer` runs renders in a process of its own.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from bot.report import STATIC

CHART_WIDTH = 720  # pixels of the chart's PNG (a phone's screen at twice its density)


class _NoFetching:
    """WeasyPrint's url_fetcher: the report needs nothing from anywhere."""

    def __call__(self, url: str, *args: object, **kwargs: object) -> dict[str, object]:
        raise ValueError(f"the report fetches nothing ({url[:60]!r} refused)")

    fetch = __call__


@functools.cache
def _stylesheets() -> tuple[object, ...]:
    import weasyprint  # loaded where PDFs are made only (it takes half a second)

    return tuple(weasyprint.CSS(string=(STATIC / name).read_text("utf-8"))
                 for name in ("report.css", "report-print.css"))


def render_pdf(html: str) -> bytes:
    """The PDF of a report page's HTML (rendered with ``pdf=True``)."""
    import weasyprint

    document = weasyprint.HTML(string=html, base_url="about:blank", url_fetcher=_NoFetching())
    pdf = document.write_pdf(stylesheets=list(_stylesheets()))
    assert pdf is not None
    return pdf


def render_png(svg: str, width: int = CHART_WIDTH) -> bytes:
    """A standalone SVG (the chart's template with ``standalone=True``) as a PNG."""
    import cairosvg

    # unsafe=False: no external files, no XML entities (the chart is ours; kept safe anyway).
    png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=width, unsafe=False)
    assert isinstance(png, bytes)
    return png


class Renderer:
    """Renders in one worker process, started at the first render (spawned, not forked: the
    server has threads and open sockets a fork would copy)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def pdf(self, html: str) -> bytes:
        return await self._run(render_pdf, html)

    async def png(self, svg: str) -> bytes:
        return await self._run(render_png, svg)

    async def _run(self, render: Callable[[str], bytes], source: str) -> bytes:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1,
                                             mp_context=multiprocessing.get_context("spawn"))
        return await asyncio.get_running_loop().run_in_executor(self._pool, render, source)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
