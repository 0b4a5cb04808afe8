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
from storage import reports

log = logging.getLogger(__name__)

MAX_WAITING = 1000  # results whose reply has not gone out yet (a bound, should replies fail)


class ResultCharts:
    def __init__(self, api: WeChatClient, pages: ReportPages, *, locale: str) -> None:
        self.api = api
        self.pages = pages
        self.locale = locale
        self._waiting: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._sending: set[asyncio.Task[None]] = set()

    def after_reply(self, message: InboundMessage, submission_id: int) -> None:
        """The reply to `message` shows the result of `submission_id`: send its chart once the
        reply has gone out (`replied`)."""
        self._waiting[(message.from_user, message.dedupe_id)] = submission_id
        while len(self._waiting) > MAX_WAITING:
            self._waiting.popitem(last=False)

    def replied(self, message: InboundMessage) -> None:
        submission_id = self._waiting.pop((message.from_user, message.dedupe_id), None)
        if submission_id is None:
            return
        task = asyncio.create_task(self._send(message.from_user, submission_id))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, openid: str, submission_id: int) -> None:
        try:
            found = await reports.submission(self.pages.reads, submission_id)
            if found is None:
                return
            svg = self.pages.render("radar.svg", self.locale, standalone=True,
                                    r=report.chart(found.result, str(found.profile["name"])))
            png = await self.pages.renderer.png(svg)
            media_id = await self.api.upload_image("chart.png", png, "image/png")
            await self.api.send_custom_image(openid, media_id)
        except (WeChatAPIError, WeChatUnavailable) as error:
            log.warning("the chart of submission %s did not reach %s: %s", submission_id,
                        openid, error)
        except Exception:
            log.exception("could not send the chart of submission %s", submission_id)

    async def aclose(self) -> None:
        """Let the charts on their way finish (a few seconds at most), then stop."""
        if self._sending:
            await asyncio.wait(list(self._sending), timeout=5)
        for task in list(self._sending):
            task.cancel()
