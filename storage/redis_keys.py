"""How the bot's Redis keys carry their Redis Cluster hash tags, in one place.

Keys that one script or pipeline touches together share a tag, so on a Cluster they live in one
slot: ``dx:{p:<person>}:state`` and ``dx:{p:<person>}:msg:<id>``, ``dx:{wx:<appid>}:token`` and
its lock, ``dx:{rl:<who>}:<window>``.
"""

from __future__ import annotations

PREFIX = "dx"


def hash_tag(kind: str, ident: str, *, prefix: str = PREFIX) -> str:
    """``<prefix>:{<kind>:<ident>}``; the keys that begin with it share one Cluster slot."""
    if not ident:
        raise ValueError(f"the id in a {kind!r} key must not be empty")
    # Percent-escape "%", "{" and "}": a "}" in an id would end the tag early and let one
    # person's key spell another's ("p:a}:msg:x" + "}:state").
    escaped = ident.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return f"{prefix}:{{{kind}:{escaped}}}"
