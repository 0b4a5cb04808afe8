"""After a result in the Official Account, its radar chart as an image message: rendered to a
PNG, uploaded as temporary media, sent as a customer-service image (the owner wrote just now, so
the 48 hours are open). It goes after the text reply has been written, and whatever fails on the
way (rendering, WeChat's upload or send) is logged and leaves the text result as it stands."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from bot.report.page import ReportPages
from bot.wechat.callback import InboundMessage
from bot.wechat.client import WeChatAPIError, WeChatClient, WeChatUnavailable
from flows import report
from flows.state import PastResult

log = logging.getLogger(__name__)

MAX_WAITING = 1000  # results whose reply has not gone out yet (a bound, should replies fail)


class ResultCharts:
    def __init__(self, api: WeChatClient, pages: ReportPages, *, locale: str) -> None:
        self.api = api
        self.pages = pages
        self.locale = locale
        self._waiting: OrderedDict[tuple[str, str], PastResult] = OrderedDict()
        self._sending: set[asyncio.Task[None]] = set()

    def after_reply(self, message: InboundMessage, shown: PastResult) -> None:
        """The reply to `message` shows the result `shown`: send its chart once the reply has
        gone out (`replied`)."""
        self._waiting[(message.from_user, message.dedupe_id)] = shown
        while len(self._waiting) > MAX_WAITING:
            self._waiting.popitem(last=False)

    def replied(self, message: InboundMessage) -> None:
        shown = self._waiting.pop((message.from_user, message.dedupe_id), None)
        if shown is None:
            return
        task = asyncio.create_task(self._send(message.from_user, shown))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, openid: str, shown: PastResult) -> None:
        # The result as the reply showed it: nothing to read again.
        try:
            svg = self.pages.render("radar.svg", self.locale, standalone=True,
                                    r=report.chart(shown.data, shown.enterprise_name))
            png = await self.pages.renderer.png(svg)
            media_id = await self.api.upload_image("chart.png", png, "image/png")
            await self.api.send_custom_image(openid, media_id)
        except (WeChatAPIError, WeChatUnavailable) as error:
            log.warning("the chart of submission %s did not reach %s: %s",
                        shown.submission_id, openid, error)
        except Exception:
            log.exception("could not send the chart of submission %s", shown.submission_id)

    async def aclose(self) -> None:
        """Let the charts on their way finish (a few seconds at most), then stop."""
        if self._sending:
            await asyncio.wait(list(self._sending), timeout=5)
        for task in list(self._sending):
            task.cancel()
