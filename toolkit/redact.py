"""Secrets masked out of text before it is recorded: given ones, an endpoint's, key shapes.

Traces, logs, error messages and cassettes outlive the process and get shared (a
workshop hands out cassettes, a bug report attaches a trace), so nothing that
authenticates anyone may enter them. Three kinds of secret are masked:

- **given secrets**: exact strings the caller knows, such as the API key of the
  endpoint being called;
- **an endpoint's credentials**: the user, password, ``user:password`` and its Basic
  ``Authorization`` value (base64), and query values of a URL such as
  ``https://user:pass@host/v1?key=…`` (``url_secrets``);
- **well-known key shapes**, whoever typed them (``KEY_SHAPES``): OpenAI
  ``sk-``/``sk-proj-``, Anthropic ``sk-ant-``, AWS ``AKIA``/``ASIA`` access key ids,
  GitHub ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``/``github_pat_``, Slack ``xox…-``,
  Google ``AIza…``, JWTs (``eyJ….eyJ….…``), ``Bearer``/``Basic`` credentials and
  user info in URLs.

The shapes are patterns, so they miss secrets of other shapes and may mask a string
that only looks like a key: this is a safety net, not a guarantee. Given secrets
shorter than 4 characters are not masked (masking every ``a`` would destroy the text).

The LLM layer applies ``redact`` to every piece of model text, retry note, error and
cassette entry it produces (``StreamRedactor`` for streamed text, whose keys may be
split across chunks); anything else that records text can apply it too (see
``redact_value`` for nested data such as an event's fields).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "KEY_SHAPES",
    "MASK",
    "StreamRedactor",
    "redact",
    "redact_value",
    "scrub",
    "url_secrets",
]

MASK = "***"
"""What a secret is replaced with (a shape keeps its recognizable prefix: ``sk-***``)."""

_MIN_SECRET = 4


# Each shape: (name, pattern); groups "keep" and "tail", when present, stay around the mask.
# Compiled on first use (``_key_shapes``), not at import: most text a run records fails
# the one-scan ``_suspect`` test below and never needs them.
@cache
def _key_shapes() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return (
        (
            "url user info",
            re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@:?#]*:[^/\s@?#]*(?P<tail>@)"),
        ),
        # a credential after Bearer/Basic has a digit or punctuation ("the bearer of news" is kept)
        (
            "bearer",
            re.compile(
                r"(?i)(?P<keep>\bbearer\s+)(?=[^\s'\",;)\]}]*[0-9._~+/-])[^\s'\",;)\]}]{6,}"
            ),
        ),
        (
            "basic",
            re.compile(
                r"(?i)(?P<keep>\bbasic\s+)(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}"
            ),
        ),
        ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}")),
        (
            "openai/anthropic",
            re.compile(r"(?P<keep>\bsk-)(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{6,}"),
        ),
        (
            "aws access key id",
            re.compile(r"(?P<keep>\b(?:AKIA|ASIA|AGPA|AIDA|AROA))[0-9A-Z]{16}\b"),
        ),
        ("github", re.compile(r"(?P<keep>\b(?:gh[pousr]_|github_pat_))[A-Za-z0-9_]{20,}")),
        ("slack", re.compile(r"(?P<keep>\bxox[abposre]-)[A-Za-z0-9-]{8,}")),
        ("google api key", re.compile(r"(?P<keep>\bAIza)[0-9A-Za-z_-]{30,}")),
    )


if TYPE_CHECKING:
    KEY_SHAPES: tuple[tuple[str, re.Pattern[str]], ...]
    """Well-known secret shapes, masked in recorded text unless redaction is turned off."""


def __getattr__(name: str) -> Any:
    # ``KEY_SHAPES`` (well-known secret shapes, masked in recorded text unless redaction
    # is turned off) is compiled on first use
    if name == "KEY_SHAPES":
        return _key_shapes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "KEY_SHAPES"])


def _mask(match: re.Match[str]) -> str:
    groups = match.groupdict()
    return (groups.get("keep") or "") + MASK + (groups.get("tail") or "")


def redact(text: str, *secrets: str | None, shapes: bool = True) -> str:
    """``text`` with each given secret, and (with ``shapes``) every well-known key shape, masked.

    Args:
        text: Any text about to be recorded or shown.
        secrets: Exact strings to mask (an API key, ``url_secrets(base_url)``, …);
            None, empty and very short ones are ignored.
        shapes: Also mask the ``KEY_SHAPES`` (on by default; endpoint secrets given
            in ``secrets`` are masked either way).

    Returns:
        The text with every secret replaced by ``***``.
    """
    wanted = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)
    for secret in wanted:
        text = text.replace(secret, MASK)
    if shapes:
        for _, pattern in _key_shapes():
            text = pattern.sub(_mask, text)
    return text


def redact_value(value: Any, *secrets: str | None, shapes: bool = True) -> Any:
    """``value`` with ``redact`` applied to every string in it (dict keys and values, lists).

    For nested data that is about to be recorded: a request body, an event's fields.
    """
    if isinstance(value, str):
        return redact(value, *secrets, shapes=shapes)
    if isinstance(value, dict):
        return {
            redact_value(k, *secrets, shapes=shapes): redact_value(v, *secrets, shapes=shapes)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v, *secrets, shapes=shapes) for v in value)
    return value


# Every shape above starts with one of these: text without any of them holds no shape,
# so most of what a run records is checked with one scan instead of nine.
_HINT = re.compile(
    r"sk-|AKIA|ASIA|AGPA|AIDA|AROA|gh[pousr]_|github_pat_|xox[abposre]-|AIza|eyJ|://"
    r"|(?i:bearer|basic)\s"
)
# Every hint holds one of these characters (``-`` ``_`` ``:`` ``A`` ``J``, or ``b``/``B``
# of bearer/basic): a one-character-class scan, several times faster than the hint's
# alternation, rules out most short text (ids, names, short outputs) first.
_GATE = re.compile(r"[-_:AJBb]")


def _suspect(text: str) -> bool:
    """Whether ``text`` may hold a key shape (False: it certainly holds none)."""
    return _GATE.search(text) is not None and _HINT.search(text) is not None


_SCALARS = (int, float, bool, type(None))
_NESTED = (dict, list, tuple)


def _texts(value: Any, found: set[str]) -> None:
    """Collect every string in ``value`` (dict values, lists, tuples; dict keys of any type).

    Exact type checks first: a plan of 1,000 tasks has ~12,000 fields to look at.
    """
    add = found.add
    if isinstance(value, dict):
        found.update(value)  # the keys, in one C loop; a key that is no string is dropped later
        items: Iterable[Any] = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        if isinstance(value, str):
            add(value)
        return
    for v in items:
        t = type(v)
        if t is str:
            add(v)
        elif t in _SCALARS:
            continue
        elif t is dict or t is list or t is tuple or isinstance(v, _NESTED):
            _texts(v, found)
        elif isinstance(v, str):
            add(v)


def scrub(value: Any) -> Any:
    """``value`` with every well-known key shape masked, and itself when it holds none.

    The tracer applies it to each event's text before any sink sees it (a key typed
    into a request, a prompt or a reply never reaches a trace, a store or a view);
    fast for the common case of text with nothing that looks like a key. Nested data
    is checked in one scan of its distinct strings joined (a shape in any one of them
    is in the joined text), and copied with ``redact_value`` only when that scan hits.
    """
    if isinstance(value, str):
        return redact(value) if _suspect(value) else value
    if isinstance(value, dict | list | tuple):
        found: set[str] = set()
        _texts(value, found)
        try:
            joined = "\n".join(found)
        except TypeError:  # a key that is no string (an int, a tuple): not text
            joined = "\n".join([t for t in found if isinstance(t, str)])
        if joined and _suspect(joined):
            return redact_value(value)
    return value


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The credentials a URL carries, in every form they may be echoed back.

    The password (as written and percent-decoded), ``user:password``, its Basic
    ``Authorization`` value (base64), and the values of the query string.
    """
    if not url:
        return ()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    found: list[str] = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user, _, password = userinfo.partition(":")
        for raw in (userinfo, password):  # the user name alone is no secret
            found += [raw, unquote(raw)]
        plain = f"{unquote(user)}:{unquote(password)}"
        found += [plain, base64.b64encode(plain.encode()).decode()]
    found += [v for _, v in parse_qsl(parts.query, keep_blank_values=False)]
    return tuple(dict.fromkeys(s for s in found if len(s) >= _MIN_SECRET))


_SPACE = re.compile(r"\s+")
_AUTH_WORD = re.compile(r"(?i)\b(?:bearer|basic)$")
_HOLD = 256
"""A run of text without whitespace is let out once it is longer than twice this, keeping
this much back (no key shape is this long, so a key is never cut in two)."""


def _shape_spans(text: str) -> Iterable[tuple[int, int]]:
    for _, pattern in _key_shapes():
        for m in pattern.finditer(text):
            yield m.start(), m.end()


class StreamRedactor:
    """Redacts streamed text whose secrets may arrive split across chunks.

    ``feed`` returns the part of the text so far that can be let out redacted: up to the
    last whitespace (a key shape holds none, except after ``Bearer``/``Basic``, so the
    text is held back after those words); ``close`` returns the rest. The pieces join to
    ``redact(whole text)`` whichever way the text was cut, for secrets without whitespace.

    Args:
        secrets: Exact strings to mask, as for ``redact``.
        shapes: Mask the ``KEY_SHAPES`` too.
    """

    def __init__(self, *secrets: str | None, shapes: bool = True) -> None:
        self.secrets = secrets
        self.shapes = shapes
        self._held = ""

    def feed(self, chunk: str) -> str:
        """Take a chunk; return the redacted text that can be let out now (may be empty)."""
        text = self._held + chunk
        cut = self._cut(text)
        self._held = text[cut:]
        return redact(text[:cut], *self.secrets, shapes=self.shapes) if cut else ""

    def close(self) -> str:
        """The redacted rest of the stream."""
        text, self._held = self._held, ""
        return redact(text, *self.secrets, shapes=self.shapes) if text else ""

    def _cut(self, text: str) -> int:
        for m in reversed(list(_SPACE.finditer(text))):
            if not _AUTH_WORD.search(text, 0, m.start()):
                return m.end()
        if len(text) <= 2 * _HOLD:
            return 0
        cut = len(text) - _HOLD
        for start, end in _shape_spans(text):
            if start < cut < end:
                cut = start
        longest = max((len(s) for s in self.secrets if s), default=0)
        for secret in self.secrets:
            if not secret:
                continue
            at = text.find(secret, max(0, cut - longest))
            while at != -1 and at < cut:
                if at + len(secret) > cut:
                    cut = at
                at = text.find(secret, at + 1)
        return cut
