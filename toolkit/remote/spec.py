"""The ``http`` agent kind of workflow files: an agent served by a worker process.

```yaml
agents:
  writer:
    kind: http
    url: http://127.0.0.1:8001     # where `switchboard serve-agent` listens
    token_env: WORKER_TOKEN        # the variable holding its bearer token (never the token)
    timeout_s: 30                  # longest a call may take
    mock: {reply: "writer: {summary}"}   # the stand-in used with --mock
```

This module needs only the core, so a workflow validates without the ``remote`` extra;
building the agent loads httpx.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from toolkit.plan import Timeout
from toolkit.workflow import AgentKind

__all__ = ["HttpSpec"]


class HttpSpec(AgentKind):
    """An agent served over HTTP by ``switchboard serve-agent``."""

    kind: Literal["http"] = "http"
    url: str = Field(max_length=2000)
    """The worker's base address: ``http://host:port``."""
    token_env: str | None = Field(default=None, max_length=64)
    """The environment variable holding the worker's bearer token (read when the agent
    is built); none for a worker served without a token."""
    timeout_s: Timeout = 60.0
    """Longest one call may take, from connecting to the answer."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the worker's address must be http://host:port or https://host:port")
        if parts.username or parts.password:
            raise ValueError("the url must not hold credentials: name a variable in token_env")
        try:
            parts.port  # noqa: B018 (a port out of range raises here)
        except ValueError as exc:
            raise ValueError(f"bad port: {exc}") from None
        return value

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and (
            value.startswith(("sk-", "Bearer ")) or not value.replace("_", "").isalnum()
        ):
            raise ValueError(
                "token_env names the environment variable that holds the token (letters, "
                "digits, _); never put the token itself in a workflow"
            )
        return value

    def build(self, name: str) -> Any:
        from toolkit.remote.http_agent import HttpAgent
        from toolkit.web import TokenError

        try:
            return HttpAgent(
                name,
                self.url,
                description=self.description,
                skills=self.skills,
                token_env=self.token_env,
                timeout_s=self.timeout_s,
            )
        except TokenError as exc:
            raise ValueError(f"agents.{name}.token_env: {exc}") from None
