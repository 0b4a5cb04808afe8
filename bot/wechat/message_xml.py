"""WeChat's message XML, read and written directly: the fields of the ``<xml>`` root in one pass of
expat, and the passive text reply from a template.

Why not wechatpy's `parse_message` and `TextReply`: they build a dict of the whole document
(xmltodict), then a message object, and render the reply through a template engine of their
own, about a tenth of the CPU of a whole chat message. WeChat's messages are flat (the root's
children, a few of them with children of their own in some events), so the fields are all we
need.

Safety: a document with a DTD is refused before anything in it is read, so no entity can be
declared (no expansion bombs, no external entities); the five predefined entities and character
references are all that expat then resolves. Bodies are decoded as UTF-8 first, whatever their
XML declaration says (WeChat sends nothing else).
"""

from __future__ import annotations

from xml.parsers import expat

ROOT = "xml"


class NotAMessage(ValueError):
    """The body is not WeChat's message XML; the reason never quotes the body."""


class Structure:
    """Stands for a field with elements inside (or repeated): not text, whatever it holds."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<structure>"


STRUCTURE = Structure()


def read_fields(body: bytes | str) -> dict[str, str | Structure]:
    """The root's child elements by name: their text (stripped, as WeChat's own SDKs give it) or
    `STRUCTURE`. Raises `NotAMessage` for anything that is not well-formed XML with an ``<xml>``
    root, and for any document with a DTD."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NotAMessage("not UTF-8") from None
    reader = _Reader()
    parser = expat.ParserCreate()
    parser.buffer_text = True  # one text event per run of text, CDATA sections included
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd  # unreachable without a DTD; kept as a second lock
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise NotAMessage(f"not well-formed XML ({expat.ErrorString(exc.code)})") from None
    if not reader.rooted:
        raise NotAMessage("no <xml> root")
    return reader.fields


def text_reply(to_user: str, from_user: str, create_time: int, content: str) -> str:
    """The passive text reply (to `to_user`, from the account `from_user`), as WeChat wants it."""
    return (f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
            f"<FromUserName>{_cdata(from_user)}</FromUserName>"
            f"<CreateTime>{int(create_time)}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{_cdata(content)}</Content></xml>")


def _cdata(text: str) -> str:
    # A "]]>" inside (a user's own words quoted back) would end the section early and WeChat would
    # drop the whole reply: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _refuse_dtd(*_args: object) -> None:
    raise NotAMessage("a DTD (entity declarations are not accepted)")


class _Reader:
    """Collects the root's children; depth 1 is a field, deeper elements make it a structure."""

    __slots__ = ("fields", "rooted", "_depth", "_name", "_parts")

    def __init__(self) -> None:
        self.fields: dict[str, str | Structure] = {}
        self.rooted = False
        self._depth = 0
        self._name = ""
        self._parts: list[str] = []

    def start(self, name: str, _attributes: dict[str, str]) -> None:
        self._depth += 1
        if self._depth == 1:
            if name != ROOT:
                raise NotAMessage("no <xml> root")
            self.rooted = True
        elif self._depth == 2:
            self._name = name
            self._parts = []
            if name in self.fields:  # repeated: a list to other readers, not one text
                self.fields[name] = STRUCTURE
        elif self._depth == 3:
            self.fields[self._name] = STRUCTURE

    def end(self, _name: str) -> None:
        if self._depth == 2 and self.fields.get(self._name) is not STRUCTURE:
            self.fields[self._name] = "".join(self._parts).strip()
        self._depth -= 1

    def text(self, data: str) -> None:
        if self._depth == 2:
            self._parts.append(data)
