"""The yardstick of `bench_oa.py`: the least a WeChat text callback can do, written plainly.

Per message it does the protocol work the product must also do, and nothing else: the query
signature (SHA-1 of token, timestamp, nonce) and the replay window, the XML parsed with the
standard library (expat: no external entities, entity expansion bounded), one Redis pipeline that
claims the message id and reads the person's state, one pipeline that writes the state (JSON of
a draft's size, stdlib `json`) and the reply under the message id, and the XML reply. The reply
begins with the text received, so the load generator checks every reply here as well.

Run by `bench_oa.py` as its own process (`python benchmarks/skeleton_server.py --port P
--redis-url URL --token T`) on the same event loop as `dxbot serve` (uvloop where built), so the
kernel accounts its CPU separately.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import time
import xml.etree.ElementTree as ET
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

PREFIX = "skeleton:"
# About the length of the product's median reply (a question's prompt with its options).
FILLER = "请选择与贵企业实际情况最相符的一项，回复选项字母即可；多选题可用空格分隔多个字母。" * 4
REPLY = ("<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{source}]]>"
         "</FromUserName><CreateTime>{time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
         "<Content><![CDATA[{content}]]></Content></xml>")


def app(redis: aioredis.Redis, token: str) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        digest = hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()
        if not hmac.compare_digest(digest, query.get("signature", "")):
            raise web.HTTPForbidden(text="bad signature")
        if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > 300:
            raise web.HTTPForbidden(text="stale")
        try:
            root = ET.fromstring(await request.read())
        except ET.ParseError:
            raise web.HTTPBadRequest(text="not XML") from None
        openid = root.findtext("FromUserName") or ""
        account = root.findtext("ToUserName") or ""
        content = root.findtext("Content") or ""
        msg_key = f"{PREFIX}{openid}:msg:{root.findtext('MsgId')}"
        state_key = f"{PREFIX}{openid}:state"
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set(msg_key, b"\x00pending", nx=True, ex=30)
            pipe.hmget(state_key, ["v", "s"])
            _claimed, (_version, raw) = await pipe.execute()
        state: dict[str, Any] = (json.loads(raw) if raw else
                                 {"profile": {"name": "济南鲁信机械有限公司"},
                                  "answers": {}, "n": 0})
        state["n"] += 1
        state["answers"][f"Q{state['n'] % 31}"] = content
        text = f"{content}\n{FILLER}"
        reply = REPLY.format(to=openid, source=account, time=int(time.time()),
                             content=text.replace("]]>", "]]]]><![CDATA[>"))
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(state_key, "s", json.dumps(state, ensure_ascii=False))
            pipe.hincrby(state_key, "v", 1)
            pipe.expire(state_key, 86400)
            pipe.set(msg_key, reply.encode(), ex=3600)
            await pipe.execute()
        return web.Response(text=reply, content_type="application/xml")

    application = web.Application()
    application.router.add_post("/wechat", receive)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop
        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    redis = aioredis.Redis.from_url(args.redis_url)
    web.run_app(app(redis, args.token), host="127.0.0.1", port=args.port, access_log=None,
                loop=loop, print=None)


if __name__ == "__main__":
    main()
