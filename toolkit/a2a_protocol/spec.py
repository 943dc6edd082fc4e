"""``kind: a2a`` in workflow files: an A2A server as one of the workflow's agents.

```yaml
agents:
  writer:
    kind: a2a
    url: http://127.0.0.1:8765      # the server's base URL (its card is read from it)
    token_env: WRITER_TOKEN         # optional: the variable holding the bearer token
    breaker: {failures: 3, cooldown_s: 30}
    mock: {reply: "a draft"}        # the stand-in used with --mock
```

Pydantic only: the SDK is imported when the agent is built, so a workflow validates
without the ``a2a`` extra.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from toolkit.agents import Agent
from toolkit.plan import Timeout
from toolkit.workflow import AgentKind

__all__ = ["A2ASpec"]


class A2ASpec(AgentKind):
    """An A2A server as an agent; each directive is one A2A task on it."""

    kind: Literal["a2a"] = "a2a"
    url: str
    """The server's base URL, ``http://`` or ``https://``."""
    token_env: str | None = None
    """The environment variable holding the bearer token (never the token itself)."""
    streaming: bool = True
    """Stream the remote task's status updates and artifacts as they happen."""
    timeout_s: Timeout = 300.0
    """Longest wait for the server's next word, in seconds."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"an A2A url starts with http:// or https://, got {value[:40]!r}")
        return value

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and (not value.isidentifier() or len(value) > 64):
            raise ValueError(
                "token_env names the environment variable that holds the token; never put the token itself in a workflow"
            )
        return value

    def build(self, name: str) -> Agent:
        from toolkit.extras import needs_extra
        from toolkit.web import token_from_env

        token = None
        if self.token_env is not None:
            try:
                token = token_from_env(self.token_env)
            except ValueError as exc:
                raise ValueError(f"agents.{name}.token_env: {exc}") from None
        with needs_extra("a2a", "kind: a2a agents"):
            from toolkit.a2a_protocol.client import A2AAgent

        return A2AAgent(
            name,
            self.url,
            self.description,
            self.skills,
            token=token,
            streaming=self.streaming,
            timeout_s=self.timeout_s,
        )
