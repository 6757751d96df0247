"""A small JSON-over-HTTP client with retries, for OpenAI-compatible servers.

The standard library is enough (no extra dependency), and keeping it here lets every failure mode
become one clear `KenteiError`: unreachable, timed out, HTTP error, or a body that is not JSON.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from kentei.errors import KenteiError

# Worth retrying: rate limits, timeouts and server-side failures (5xx, including proxies' 52x) except
# "not implemented" and "HTTP version not supported". Other 4xx are the caller's fault.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
MAX_BACKOFF_S = 30.0


def retryable(status: int) -> bool:
    return status in RETRYABLE_4XX or (500 <= status < 600 and status not in (501, 505))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would forward the Authorization header to the new host and turn a
    POST into a bodiless GET."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise KenteiError(
            f"the API server redirected ({code}) to {redact_url(newurl)}; give that URL as --base-url "
            "(kentei does not follow redirects, so the API key never goes to another host)"
        )


_OPENER = urllib.request.build_opener(_NoRedirects)


def redact_url(url: str) -> str:
    """The URL without user:password@ or a query string (either may hold a credential)."""
    p = urllib.parse.urlsplit(url)
    netloc = p.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"  # IPv6
    if p.port:
        netloc += f":{p.port}"
    return urllib.parse.urlunsplit((p.scheme, netloc, p.path, "", ""))


@dataclass
class JSONClient:
    """POST/GET JSON to `base_url` with a timeout, bounded retries and exponential backoff."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 120.0
    max_retries: int = 5
    backoff_s: float = 0.5
    retries_used: int = 0
    """Total retries over the client's life (approximate under concurrency; for diagnostics)."""
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    """Set by the caller to stop retrying (another call failed, or Ctrl-C)."""

    def __post_init__(self) -> None:
        p = urllib.parse.urlsplit(self.base_url)
        if p.scheme not in ("http", "https") or not p.hostname or p.query or p.fragment:
            raise KenteiError(
                "--base-url must be an http(s) URL without a query string, such as http://127.0.0.1:8000/v1, "
                f"not {redact_url(self.base_url)!r}"
            )
        self.base_url = self.base_url.rstrip("/")

    def _redact(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The decoded JSON answer; raises KenteiError once retries are spent or on a non-retryable error."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        shown = redact_url(url)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        cancelled = KenteiError(f"API call to {shown} cancelled: another request failed")
        for attempt in range(self.max_retries + 1):
            if self.cancel.is_set():
                raise cancelled
            if attempt:
                self.retries_used += 1
            wait: float | None = None
            try:
                req = urllib.request.Request(url, data=data, headers=headers, method=method)
                with _OPENER.open(req, timeout=self.timeout_s) as resp:
                    raw = resp.read()
            except urllib.error.HTTPError as e:
                try:
                    detail = self._redact(e.read()[:500].decode("utf-8", "replace").strip())
                except (OSError, http.client.HTTPException):
                    detail = "(no readable body)"
                if e.code in (401, 403):
                    raise KenteiError(
                        f"API server at {shown} refused the credentials (HTTP {e.code}); "
                        f"check the key in the environment variable: {detail}"
                    ) from None
                if not retryable(e.code):
                    raise KenteiError(f"API server at {shown} answered HTTP {e.code}: {detail}") from None
                last = f"HTTP {e.code}: {detail}"
                wait = _retry_after(e.headers.get("Retry-After"))
            except TimeoutError:
                last = f"no answer within {self.timeout_s:g} s (--timeout)"
            except urllib.error.URLError as e:
                reason = e.reason if isinstance(e.reason, str) else (e.reason.strerror or str(e.reason))
                if isinstance(e.reason, TimeoutError):
                    last = f"no answer within {self.timeout_s:g} s (--timeout)"
                else:
                    last = f"cannot connect: {reason}"
            except (ConnectionError, OSError, http.client.HTTPException) as e:
                # Reset connections, a truncated body (IncompleteRead), a garbled status line.
                last = f"connection failed: {type(e).__name__}: {e}"
            else:
                try:
                    return json.loads(raw)
                except ValueError:
                    # A proxy's HTML error page or a truncated body: the server is not speaking the API.
                    snippet = self._redact(raw[:200].decode("utf-8", "replace"))
                    last = f"the answer is not JSON: {snippet!r}"
            if attempt < self.max_retries:
                delay = wait if wait is not None else min(MAX_BACKOFF_S, self.backoff_s * 2**attempt)
                if self.cancel.wait(delay * (1 + 0.25 * random.random())):
                    raise cancelled
        raise KenteiError(f"API server at {shown} failed after {self.max_retries + 1} attempts: {last}")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(MAX_BACKOFF_S, max(0.0, float(value)))
    except ValueError:
        return None
