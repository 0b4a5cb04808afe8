"""The report as an A4 PDF (自评报告), by WeasyPrint: the page's own template and styles with a
print stylesheet (page numbers, the enterprise in the margin), Chinese from the system's fonts
(Noto CJK), the radar chart as vector graphics. Nothing is fetched: the styles are handed over
as text and every URL is refused.

A render is about a second of pure Python, which would hold the GIL against the chat: `PdfMaker`
runs it in a process of its own.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from bot.report import STATIC


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


class PdfMaker:
    """Renders PDFs in one worker process, started at the first one (spawned, not forked: the
    server has threads and open sockets a fork would copy)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def render(self, html: str) -> bytes:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1,
                                             mp_context=multiprocessing.get_context("spawn"))
        return await asyncio.get_running_loop().run_in_executor(self._pool, render_pdf, html)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
