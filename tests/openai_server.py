"""A loopback OpenAI-compatible server for tests: real HTTP, a real model, and injectable faults.

`transformers serve` (the server the main API test uses) ignores `echo`/`logprobs`, so it cannot
exercise the prompt-log-probability path of the openai backend. This server answers
/v1/completions with `echo: true, logprobs: 1` the way vLLM does (the legacy `logprobs` object with
tokens, token_logprobs, top_logprobs and text_offset), computed by tiny-ja through transformers.
It also misbehaves on request (HTTP 500/429, slow answers, non-JSON bodies) so the backend's
retries, timeouts and error messages are tested against a real socket.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Faults:
    """What the next requests should suffer; counters make "fail twice, then work" possible."""

    def __init__(self) -> None:
        self.pass_first = 0  # answer this many requests normally, then ...
        self.status: int | None = None  # ... answer this HTTP status ...
        self.times = 0  # ... to this many requests (then behave again)
        self.retry_after: str | None = None
        self.sleep_s = 0.0  # delay every answer
        self.garbage: bytes | None = None  # answer 200 with this body instead of JSON
        self.redirect: str | None = None  # answer 302 to this URL
        self.truncate = False  # promise a longer body than is sent, then close
        self.reasoning_api = False  # refuse max_tokens on chat, as OpenAI's reasoning models do
        self.chat_bodies: list[dict[str, Any]] = []
        self.seen_auth: list[str | None] = []
        self.requests = 0
        self.lock = threading.Lock()


class LogprobModel:
    """Prompt log-probabilities and greedy completions from a local causal LM."""

    def __init__(self, path: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        self.lock = threading.Lock()  # one forward at a time; the HTTP side stays concurrent

    def echo_logprobs(self, prompt: str | list[int]) -> dict[str, Any]:
        """vLLM's echo answer: a token-id prompt is scored as given (that is what kentei sends);
        text offsets are computed vLLM's way, from each token decoded on its own, so they are not
        character offsets (the BOS's text counts, a partial UTF-8 byte decodes to one '�')."""
        ids = list(prompt) if isinstance(prompt, list) else self.tok(prompt)["input_ids"]
        with self.lock, self.torch.no_grad():
            logits = self.model(self.torch.tensor([ids])).logits[0].float()
        logp = self.torch.log_softmax(logits, dim=-1)
        tokens = self.tok.convert_ids_to_tokens(ids)
        token_lps: list[float | None] = [None]
        tops: list[dict[str, float] | None] = [None]
        for i in range(1, len(ids)):
            row = logp[i - 1]
            best = int(row.argmax())
            top = {self.tok.convert_ids_to_tokens(best): float(row[best])}
            top[tokens[i]] = float(row[ids[i]])  # vLLM also lists the prompt token itself
            token_lps.append(float(row[ids[i]]))
            tops.append(top)
        # One generated token, as vLLM appends with max_tokens=1.
        nxt = int(logp[-1].argmax())
        tokens.append(self.tok.convert_ids_to_tokens(nxt))
        token_lps.append(float(logp[-1][nxt]))
        tops.append({tokens[-1]: float(logp[-1][nxt])})
        offsets, at = [], 0
        for t in [*ids, nxt]:
            offsets.append(at)
            at += len(self.tok.decode([t]))
        return {"tokens": tokens, "token_logprobs": token_lps, "top_logprobs": tops, "text_offset": offsets}

    def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        ids = self.tok(prompt, return_tensors="pt")
        with self.lock, self.torch.no_grad():
            out = self.model.generate(**ids, max_new_tokens=max_tokens, do_sample=False)
        new = out[0, ids["input_ids"].shape[1] :]
        return self.tok.decode(new, skip_special_tokens=True), int(new.shape[0])


def make_server(model_id: str, lm: LogprobModel | None, faults: Faults) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _fault(self) -> bool:
            with faults.lock:
                faults.requests += 1
                faults.seen_auth.append(self.headers.get("Authorization"))
                fail = faults.times > 0 and faults.status is not None and faults.requests > faults.pass_first
                if fail:
                    faults.times -= 1
            if faults.sleep_s:
                time.sleep(faults.sleep_s)
            if fail:
                hdr = {"Retry-After": faults.retry_after} if faults.retry_after else None
                self._send(faults.status, b'{"error": {"message": "injected failure"}}', hdr)
                return True
            if faults.garbage is not None:
                self._send(200, faults.garbage)
                return True
            if faults.redirect:
                self._send(302, b"", {"Location": faults.redirect})
                return True
            if faults.truncate:
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"choices": [')
                self.close_connection = True
                return True
            return False

        def do_GET(self) -> None:
            if self._fault():
                return
            if self.path.rstrip("/") == "/v1/models":
                body = {"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "kentei-test"}]}
                self._send(200, json.dumps(body).encode())
            else:
                self._send(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            if self._fault():
                return
            if self.path == "/v1/chat/completions" and lm is not None:
                faults.chat_bodies.append(body)
                if faults.reasoning_api and "max_tokens" in body:
                    msg = b'{"error": {"message": "Unsupported parameter: max_tokens; use max_completion_tokens"}}'
                    self._send(400, msg)
                    return
                prompt = "".join(m["content"] for m in body["messages"])
                text, k = lm.complete(prompt, int(body.get("max_completion_tokens") or body.get("max_tokens") or 16))
                answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                       "finish_reason": "length"}], "usage": {"completion_tokens": k}}  # fmt: skip
                self._send(200, json.dumps(answer).encode())
                return
            if self.path != "/v1/completions" or lm is None:
                self._send(404, b'{"error": "not found"}')
                return
            raw = body["prompt"]
            # A string, a list of strings, a token-id list, or a list of token-id lists (vLLM takes all four).
            single = isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int))
            prompts = [raw] if single else raw
            choices = []
            for i, p in enumerate(prompts):
                if body.get("echo") and body.get("logprobs") is not None:
                    lp = lm.echo_logprobs(p)
                    text = (p if isinstance(p, str) else lm.tok.decode(p)) + lp["tokens"][-1]
                    choices.append({"index": i, "text": text, "logprobs": lp, "finish_reason": "length"})
                else:
                    text, k = lm.complete(p, int(body.get("max_tokens") or 16))
                    choices.append({"index": i, "text": text, "finish_reason": "length", "_n": k})
            usage = {"completion_tokens": sum(c.pop("_n", 1) for c in choices)}
            self._send(200, json.dumps({"object": "text_completion", "choices": choices, "usage": usage}).encode())

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


class Server:
    """Run `make_server` on a daemon thread; `url` is the /v1 root."""

    def __init__(self, model_id: str, lm: LogprobModel | None) -> None:
        self.faults = Faults()
        self.httpd = make_server(model_id, lm, self.faults)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        self.faults.__init__()  # type: ignore[misc]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
