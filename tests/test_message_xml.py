"""The message XML reader and the reply template (bot.wechat.message_xml), fuzzed: what they read
is what xmltodict (the reader wechatpy uses) reads, whatever the texts hold; anything else is a
`NotAMessage`, never another exception; no DTD gets through."""

from __future__ import annotations

import contextlib
import string
from typing import Any

import pytest
import xmltodict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.wechat.callback import BadMessage, parse_inbound, render_reply
from bot.wechat.message_xml import STRUCTURE, NotAMessage, read_fields, text_reply

# Characters XML 1.0 can carry (no C0 controls but tab, newline and carriage return; no
# surrogates, no U+FFFE/U+FFFF), with the ones that matter to CDATA and escaping made frequent.
_XML_CHARACTERS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff") | st.sampled_from(
    ["<", ">", "&", "]", "]]>", "\t", "\n", " ", "\"", "'", "中", "😀"])
TEXTS = st.lists(_XML_CHARACTERS, max_size=30).map("".join)
NAMES = st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content",
                         "MsgId", "Event", "EventKey", "Ticket"]) | st.text(
    string.ascii_letters, min_size=1, max_size=8)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@st.composite
def documents(draw: st.DrawFn) -> str:
    """An <xml> root with fields of text (escaped or in CDATA), nested elements or repeats."""
    parts = []
    for name, value in draw(st.lists(st.tuples(NAMES, TEXTS), max_size=10)):
        form = draw(st.sampled_from(["cdata", "escaped", "nested", "empty"]))
        if form == "cdata":
            parts.append(f"<{name}>{_cdata(value)}</{name}>")
        elif form == "escaped":
            parts.append(f"<{name}>{_escaped(value)}</{name}>")
        elif form == "nested":
            parts.append(f"<{name}><Item>{_escaped(value)}</Item></{name}>")
        else:
            parts.append(f"<{name}/>")
    return "<xml>" + "".join(parts) + "</xml>"


def _as_xmltodict_reads(body: str) -> dict[str, Any]:
    root = xmltodict.parse(body)["xml"] or {}
    if isinstance(root, str):
        return {}
    return {name: "" if value is None else value if isinstance(value, str) else STRUCTURE
            for name, value in root.items()}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_fields_are_what_xmltodict_reads(body: str) -> None:
    assert read_fields(body) == _as_xmltodict_reads(body)
    assert read_fields(body.encode()) == read_fields(body)


@settings(max_examples=400)
@given(st.binary(max_size=200) | documents().map(str.encode), st.data())
def test_anything_else_is_not_a_message(body: bytes, data: st.DataObject) -> None:
    # Cut and spliced documents and raw bytes: a result or NotAMessage, nothing else.
    if body and data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(body) - 1))
        body = body[:cut] + data.draw(st.binary(max_size=8)) + body[cut + 1:]
    try:
        fields = read_fields(body)
    except NotAMessage:
        return
    assert all(isinstance(v, str) or v is STRUCTURE for v in fields.values())


@settings(max_examples=200)
@given(st.binary(max_size=300) | documents().map(str.encode))
def test_parse_inbound_raises_only_bad_message(body: bytes) -> None:
    with contextlib.suppress(BadMessage):
        parse_inbound(body)


_HEAD = ("<ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName>"
         "<CreateTime>1700000000</CreateTime><MsgType>text</MsgType>")


@pytest.mark.parametrize("body", [
    pytest.param('<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                 f"<xml>{_HEAD}<Content>&b;</Content></xml>", id="expansion"),
    pytest.param('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 f"<xml>{_HEAD}<Content>&x;</Content></xml>", id="external"),
    pytest.param('<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]>'
                 f"<xml>{_HEAD}</xml>", id="parameter"),
    pytest.param('<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/x.dtd">'
                 f"<xml>{_HEAD}</xml>", id="external-subset"),
    pytest.param(f"<xml>{_HEAD}<Content>&undeclared;</Content></xml>", id="undeclared"),
    pytest.param(f"<msg>{_HEAD}</msg>", id="other-root"),
    pytest.param("<?xml version='1.0' encoding='GBK'?><xml>\u4e2d</xml>".encode("gbk"),
                 id="not-utf8"),
])
def test_dtds_and_foreign_documents_are_refused(body: str | bytes) -> None:
    with pytest.raises(NotAMessage):
        read_fields(body)


def test_predefined_entities_and_character_references_are_read() -> None:
    body = f"<xml>{_HEAD}<Content>a&amp;b &lt;&#20013;&#x6587;&gt;</Content></xml>"
    assert read_fields(body)["Content"] == "a&b <中文>"


@settings(max_examples=300)
@given(TEXTS, TEXTS.filter(str.strip), st.integers(0, 2**32))
def test_the_reply_reads_back_as_sent(content: str, openid: str, create_time: int) -> None:
    reply = text_reply(openid, "gh_account", create_time, content)
    fields = read_fields(reply)
    assert fields == {"ToUserName": openid.strip(), "FromUserName": "gh_account",
                      "CreateTime": str(create_time), "MsgType": "text",
                      "Content": content.strip()}
    # xmltodict (what wechatpy and WeChat-side tools read with) agrees.
    assert _as_xmltodict_reads(reply) == fields


def test_render_reply_swaps_sender_and_receiver() -> None:
    message = parse_inbound(f"<xml>{_HEAD}<Content>hi</Content><MsgId>1</MsgId></xml>")
    reply = read_fields(render_reply(message, "a ]]> b", create_time=5))
    assert (reply["ToUserName"], reply["FromUserName"], reply["Content"]) == (
        "o1", "gh_1", "a ]]> b")
