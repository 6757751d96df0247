"""OpenAI-compatible API backend: vLLM, SGLang, TGI, `transformers serve` and hosted models.

Generation goes to /v1/completions (plain prompts) or /v1/chat/completions (chat turns).
Multiple choice by log-likelihood needs prompt log-probabilities: /v1/completions with
`echo: true, logprobs: 1`, which vLLM answers; servers that ignore those fields (transformers
serve does) get a clear error pointing at `--mc-mode generate`.

The API key is read from an environment variable and lives only in the HTTP client: it is never
in `info()`, the run record, the logs or an error message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kentei.backends.http import JSONClient, redact_url
from kentei.backends.tokens import encode_choices
from kentei.errors import KenteiError
from kentei.requests import GenerateRequest, GenerateResult, LoglikelihoodRequest, LoglikelihoodResult

T = TypeVar("T")
R = TypeVar("R")

CHAT_PREFIX = '{"messages": '
"""Chat prompts travel through the runner as this JSON envelope, so the record holds exactly what was sent."""
MAX_STOP = 4  # the OpenAI API accepts at most four stop strings; the rest are applied here


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    cuts = [i for s in stop if s and (i := text.find(s)) >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


def _shape_error(what: str, got: Any) -> KenteiError:
    shown = json.dumps(got, ensure_ascii=False)[:300] if not isinstance(got, str) else got[:300]
    return KenteiError(f"unexpected answer from the API server ({what}): {shown}")


class OpenAIBackend:
    """A model behind an OpenAI-compatible HTTP API.

    Requests run `concurrency` at a time; each failed call is retried with backoff on timeouts,
    429 and 5xx, and a call that still fails raises `KenteiError` (responses already stored by the
    runner are kept, so re-running the same --run-id resumes).
    """

    name = "openai"

    def __init__(
        self,
        client: JSONClient,
        model: str,
        concurrency: int,
        served: dict[str, Any] | None,
        tokenizer: Any = None,
    ) -> None:
        self.client = client
        self.model = model
        self.concurrency = concurrency
        self.served = served or {}
        self.completion_tokens_param = False
        """Send max_completion_tokens instead of max_tokens (learned from the server's refusal)."""
        self.tokenizer = tokenizer
        """The served model's tokenizer (--tokenizer): needed for multiple choice by log-likelihood."""
        max_len = self.served.get("max_model_len")
        self.max_len: int | None = max_len if isinstance(max_len, int) and max_len > 1 else None

    @classmethod
    def load(
        cls,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout_s: float = 120.0,
        max_retries: int = 5,
        tokenizer: str | None = None,
        trust_remote_code: bool = False,
        **_: Any,
    ) -> OpenAIBackend:
        """Connect and check that the server lists `model` (GET /models).

        Fails before any run folder is written when the server is unreachable or serves another model.
        """
        if not base_url:
            raise KenteiError("--backend openai needs --base-url, e.g. http://127.0.0.1:8000/v1")
        if concurrency < 1:
            raise KenteiError(f"--concurrency must be at least 1, not {concurrency}")
        key = os.environ.get(api_key_env) or None
        client = JSONClient(base_url, api_key=key, timeout_s=timeout_s, max_retries=max_retries)
        listed = client.request("GET", "models")
        data = listed.get("data") if isinstance(listed, dict) else None
        if not isinstance(data, list):
            raise _shape_error("GET /models has no 'data' list", listed)
        ids = [m.get("id") for m in data if isinstance(m, dict)]
        if model not in ids:
            shown = ", ".join(map(str, ids[:10])) or "none"
            raise KenteiError(f"model {model!r} is not served at {redact_url(base_url)} (it serves: {shown})")
        served = next(m for m in data if isinstance(m, dict) and m.get("id") == model)
        tok = None
        if tokenizer:
            from kentei.tokfit import load_tokenizer

            tok = load_tokenizer(tokenizer, trust_remote_code=trust_remote_code)
        return cls(client, model, concurrency, served, tok)

    def info(self) -> dict[str, Any]:
        keep = ("id", "owned_by", "created", "root", "parent", "max_model_len")
        return {
            "id": self.model,
            "backend": self.name,
            "base_url": redact_url(self.client.base_url),
            "served": {k: self.served[k] for k in keep if k in self.served},
            "tokenizer": self.tokenizer.name_or_path if self.tokenizer is not None else None,
            # Weights are not visible through an API: the served model id is what pins them.
            "weights_sha256": None,
            "revision": None,
        }

    def has_chat_template(self) -> bool:
        """Served models are chat models unless told otherwise (--no-chat uses /v1/completions)."""
        return True

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        """The turns as a JSON envelope: the server applies its own template to them."""
        return CHAT_PREFIX + json.dumps(messages, ensure_ascii=False) + "}"

    def _map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self.concurrency == 1 or len(items) <= 1:
            return [fn(x) for x in items]
        cancel = self.client.cancel
        failures: list[KenteiError] = []

        def call(x: T) -> R:
            try:
                return fn(x)
            except KenteiError as e:
                # The first real failure stops the others at once (their "cancelled" errors are not it).
                if not cancel.is_set():
                    failures.append(e)
                cancel.set()
                raise

        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(items)))
        try:
            return list(pool.map(call, items))
        except BaseException as e:
            # A failure or Ctrl-C: queued calls are dropped and calls in flight stop retrying, so the
            # run ends after at most one request's timeout instead of every retry of every call.
            cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            cancel.clear()
            if failures and isinstance(e, KenteiError):
                raise failures[0] from None
            raise
        finally:
            pool.shutdown(wait=False)

    # ---- generation ----------------------------------------------------------------

    def generate(self, requests: list[GenerateRequest]) -> list[GenerateResult]:
        """Greedy (temperature 0) completions, in request order, cut before the first stop string."""
        return self._map(self._generate_one, requests)

    def _generate_one(self, r: GenerateRequest) -> GenerateResult:
        body: dict[str, Any] = {"model": self.model, "max_tokens": r.max_new_tokens, "temperature": 0}
        if r.stop:
            body["stop"] = list(r.stop[:MAX_STOP])
        if r.context.startswith(CHAT_PREFIX):
            body["messages"] = json.loads(r.context)["messages"]
            if self.completion_tokens_param:
                body["max_completion_tokens"] = body.pop("max_tokens")
            try:
                ans = self.client.request("POST", "chat/completions", body)
            except KenteiError as e:
                # OpenAI's reasoning models refuse max_tokens and name its replacement; switch once.
                if "max_completion_tokens" not in str(e) or "max_tokens" not in body:
                    raise
                self.completion_tokens_param = True
                body["max_completion_tokens"] = body.pop("max_tokens")
                ans = self.client.request("POST", "chat/completions", body)
            try:
                choice = ans["choices"][0]
                text = choice["message"]["content"] or ""
            except (KeyError, IndexError, TypeError):
                raise _shape_error("chat/completions without choices[0].message.content", ans) from None
        else:
            body["prompt"] = r.context
            ans = self.client.request("POST", "completions", body)
            try:
                choice = ans["choices"][0]
                text = choice["text"]
            except (KeyError, IndexError, TypeError):
                raise _shape_error("completions without choices[0].text", ans) from None
        if not isinstance(text, str):
            raise _shape_error("the generated text is not a string", ans)
        text, stopped = cut_at_stop(text, r.stop)
        reason = choice.get("finish_reason") if isinstance(choice, dict) else None
        # Servers report EOS and a stop string alike as "stop" (and usually strip the stop string).
        finish = "length" if reason == "length" and not stopped else ("stop" if stopped or reason == "stop" else "eos")
        usage = ans.get("usage") if isinstance(ans, dict) else None
        n = usage.get("completion_tokens") if isinstance(usage, dict) else None
        return GenerateResult(text=text, n_tokens=int(n) if isinstance(n, int) else -1, finish=finish)

    # ---- log-likelihood ------------------------------------------------------------

    def loglikelihood(self, requests: list[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        """Prompt log-probabilities via /v1/completions with echo, one call per (context, choice).

        The prompt goes as token ids, tokenized here with the served model's tokenizer (--tokenizer),
        so the echoed log-probs split into context and choice by position, as the hf backend splits
        them. (Servers' `text_offset` is not a character offset: vLLM counts the BOS's text and one
        character per partial-UTF-8 byte token, which would misplace the boundary on Japanese.)
        Not every server accepts a list of prompts, so each choice is its own call, `concurrency` at
        a time; servers with prefix caching (vLLM) compute the shared context once.
        """
        for r in requests:
            if r.context.startswith(CHAT_PREFIX):
                raise KenteiError(
                    "the chat endpoint returns no prompt log-probabilities: use --no-chat (completions) "
                    "or --mc-mode generate for multiple choice"
                )
        if self.tokenizer is None:
            raise KenteiError(
                "multiple choice by log-likelihood through an API needs the served model's tokenizer: "
                "pass --tokenizer PATH_OR_HUB_ID, or use --mc-mode generate"
            )
        jobs: list[tuple[str, list[int], list[int], bool]] = []
        truncated: list[bool] = []
        for r in requests:
            ctx, conts, flags = encode_choices(self.tokenizer, r.key, r.context, r.continuations)
            cut = False
            for cont, merged in zip(conts, flags, strict=True):
                room = self.max_len - len(cont) - 1 if self.max_len else len(ctx)
                cut |= len(ctx) > room
                jobs.append((r.key, ctx[-room:] if len(ctx) > room else ctx, cont, merged))
            truncated.append(cut)
        scored = iter(self._map(self._score_pair, jobs))
        results = []
        for r, cut in zip(requests, truncated, strict=True):
            parts = [next(scored) for _ in r.continuations]
            results.append(
                LoglikelihoodResult(
                    logprobs=[p[0] for p in parts],
                    is_greedy=[p[1] for p in parts],
                    n_tokens=[p[2] for p in parts],
                    boundary_merged=any(p[3] for p in parts),
                    truncated=cut,
                )
            )
        return results

    def _score_pair(self, job: tuple[str, list[int], list[int], bool]) -> tuple[float, bool, int, bool]:
        key, ctx, cont, merged = job
        body = {"model": self.model, "prompt": ctx + cont, "max_tokens": 1, "temperature": 0, "echo": True,
                "logprobs": 1}  # fmt: skip
        try:
            ans = self.client.request("POST", "completions", body)
        except KenteiError as e:
            if "HTTP 400" in str(e) or "HTTP 422" in str(e):
                raise KenteiError(
                    f"{key}: {e}. The server may not take token-id prompts with echo + logprobs "
                    "(vLLM does; transformers serve does not): use --mc-mode generate"
                ) from None
            raise
        choices = ans.get("choices") if isinstance(ans, dict) else None
        if not isinstance(choices, list) or not choices:
            raise _shape_error("completions without choices", ans)
        lp, greedy = continuation_logprob(choices[0], len(ctx), len(cont))
        return lp, greedy, len(cont), merged


def continuation_logprob(choice: Any, n_ctx: int, n_cont: int) -> tuple[float, bool]:
    """(sum log-prob, greedy?) of prompt tokens [n_ctx, n_ctx + n_cont) of an echoed token-id prompt.

    Reads the legacy `logprobs` object: token_logprobs (None for the first token) and top_logprobs
    (the most likely tokens at each position, for the greedy check).
    """
    lp_obj = choice.get("logprobs") if isinstance(choice, dict) else None
    token_lps = lp_obj.get("token_logprobs") if isinstance(lp_obj, dict) else None
    if not isinstance(token_lps, list) or not token_lps:
        raise KenteiError(
            "the API server returned no prompt log-probabilities (echo + logprobs); servers such as "
            "`transformers serve` ignore them. Use --mc-mode generate, or serve the model with vLLM."
        )
    if len(token_lps) < n_ctx + n_cont:
        got = f"echo returned {len(token_lps)} token log-probs for a {n_ctx + n_cont}-token prompt"
        raise _shape_error(got, lp_obj)
    tops = lp_obj.get("top_logprobs")
    if not isinstance(tops, list) or len(tops) < n_ctx + n_cont:
        tops = [None] * len(token_lps)
    total = 0.0
    greedy = True
    for k in range(n_ctx, n_ctx + n_cont):
        lp, top = token_lps[k], tops[k]
        if not isinstance(lp, (int, float)):
            raise _shape_error("a continuation token has no numeric log-probability", lp_obj)
        total += float(lp)
        if isinstance(top, dict) and top:
            values = [float(v) for v in top.values() if isinstance(v, (int, float))]
            greedy &= bool(values) and float(lp) >= max(values) - 1e-6
    return total, greedy
