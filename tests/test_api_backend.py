"""The openai backend against real servers on loopback.

- `transformers serve` with tiny-ja: generation through /v1/chat/completions and /v1/completions
  gives the same outputs as the hf backend, and the records are complete and comparable.
- tests/openai_server.py (vLLM's echo + logprobs format, computed by tiny-ja): multiple choice by
  log-likelihood agrees with the hf backend; injected 500/429/timeouts/garbage give retries or a
  clear error, and the responses stored before a failure are kept for the resume.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kentei.backends.api import CHAT_PREFIX, OpenAIBackend, continuation_logprob, cut_at_stop
from kentei.errors import KenteiError
from kentei.requests import GenerateRequest, LoglikelihoodRequest
from tests.conftest import run_cli
from tests.openai_server import LogprobModel, Server

SECRET = "sk-kentei-test-9f8e7d6c5b4a-DO-NOT-LEAK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def responses(run_dir: Path, task: str) -> dict[str, dict]:
    rows = [json.loads(line) for line in (run_dir / "responses" / f"{task}.jsonl").read_text().splitlines()]
    return {r["id"]: r for r in rows}


@pytest.fixture(scope="module")
def served(tiny_path: Path) -> Iterator[str]:
    """`transformers serve` on a free loopback port with tiny-ja preloaded; yields the /v1 URL."""
    port = free_port()
    log = (Path(os.environ.get("TMPDIR", "/tmp")) / f"kentei-serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "transformers"), "serve", "--host", "127.0.0.1", "--port",
         str(port), "--device", "cpu", str(tiny_path)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"transformers serve did not start; see {log.name}") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def lp_server(tiny_path: Path) -> Iterator[Server]:
    srv = Server(str(tiny_path), LogprobModel(tiny_path))
    yield srv
    srv.close()


@pytest.fixture()
def fresh(lp_server: Server) -> Server:
    lp_server.reset()
    return lp_server


# ---- transformers serve --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("chat", ["--chat", "--no-chat"])
def test_transformers_serve_matches_hf_backend(served: str, tiny_path: Path, tmp_path: Path, chat: str) -> None:
    common = ["--tasks", "culture_qa,keigo_form", "--limit", "10", "--mc-mode", "generate", chat,
              "--out", str(tmp_path)]  # fmt: skip
    api = run_cli("run", "--backend", "openai", "--model", str(tiny_path), "--base-url", served, "--run-id", "api",
                  *common, env={"OPENAI_API_KEY": SECRET})  # fmt: skip
    assert api.returncode == 0, api.stderr
    hf = run_cli("run", "--model", str(tiny_path), "--run-id", "hf", *common)
    assert hf.returncode == 0, hf.stderr

    rec = json.loads((tmp_path / "api" / "run.json").read_text())
    assert rec["status"] == "complete"
    assert rec["model"]["backend"] == "openai" and rec["model"]["base_url"] == served
    assert rec["runtime"]["concurrency"] == 8
    assert rec["tokenizer_fit"] is None  # an API model's tokenizer is unknown unless --tokenizer names one
    for task in ("culture_qa", "keigo_form"):
        assert rec["tasks"][task]["status"] == "complete" and rec["tasks"][task]["n"] == 10
        a, h = responses(tmp_path / "api", task), responses(tmp_path / "hf", task)
        assert a.keys() == h.keys() and len(a) == 10
        # Same model, same prompts, greedy: the server's outputs equal the in-process ones.
        assert [a[k]["response"]["text"] for k in a] == [h[k]["response"]["text"] for k in a]
        assert [a[k]["prompt"] for k in a] == [h[k]["prompt"] for k in a] or chat == "--chat"
        if chat == "--chat":
            assert all(a[k]["prompt"].startswith(CHAT_PREFIX) for k in a)

    cmp = run_cli("compare", str(tmp_path / "api"), str(tmp_path / "hf"), "--json")
    assert cmp.returncode == 0, cmp.stderr
    for row in json.loads(cmp.stdout)["tasks"]:
        assert row["diff"] == 0.0

    site = tmp_path / "site"
    board = tmp_path / "board.yaml"
    board.write_text(f"name: api\nruns: [{json.dumps(str(tmp_path / 'api'))}]\n")
    built = run_cli("leaderboard", "build", "--config", str(board), "--out", str(site))
    assert built.returncode == 0, built.stderr
    assert (site / "runs" / "api" / "index.html").exists()
    leaked = [p for p in [*(tmp_path / "api").rglob("*"), *site.rglob("*")]
              if p.is_file() and SECRET in p.read_text(errors="replace")]  # fmt: skip
    assert not leaked and SECRET not in api.stdout + api.stderr


@pytest.mark.slow
def test_serve_without_prompt_logprobs_is_a_clear_error(served: str, tiny_path: Path, tmp_path: Path) -> None:
    args = ["run", "--backend", "openai", "--model", str(tiny_path), "--base-url", served, "--no-chat",
            "--tasks", "keigo_form", "--limit", "4", "--out", str(tmp_path)]  # fmt: skip
    r = run_cli(*args, "--run-id", "x")
    assert r.returncode == 2 and "--tokenizer" in r.stderr and "--mc-mode generate" in r.stderr
    # With the tokenizer, transformers serve refuses token-id prompts: the error says what to do.
    r = run_cli(*args, "--run-id", "y", "--tokenizer", str(tiny_path))
    assert r.returncode == 2 and "HTTP 400" in r.stderr and "--mc-mode generate" in r.stderr
    assert "Traceback" not in r.stderr


def test_chat_with_loglikelihood_is_refused_before_any_request(fresh: Server, tiny_path: Path, tmp_path: Path) -> None:
    r = run_cli("run", "--backend", "openai", "--model", str(tiny_path), "--base-url", fresh.url,
                "--tasks", "keigo_form", "--limit", "2", "--out", str(tmp_path), "--run-id", "x")  # fmt: skip
    assert r.returncode == 2 and "--no-chat" in r.stderr
    assert not (tmp_path / "x").exists()


# ---- log-likelihood through echo + logprobs ------------------------------------------------------


@pytest.mark.slow
def test_loglikelihood_through_api_matches_hf(fresh: Server, tiny_path: Path, tmp_path: Path) -> None:
    common = ["--tasks", "keigo_form,business_etiquette", "--limit", "16", "--no-chat", "--out", str(tmp_path)]
    api = run_cli("run", "--backend", "openai", "--model", str(tiny_path), "--base-url", fresh.url,
                  "--run-id", "api", "--concurrency", "4", "--tokenizer", str(tiny_path), *common,
                  env={"OPENAI_API_KEY": SECRET})  # fmt: skip
    assert api.returncode == 0, api.stderr
    hf = run_cli("run", "--model", str(tiny_path), "--run-id", "hf", *common)
    assert hf.returncode == 0, hf.stderr
    # The key went to the server as a bearer token, and nowhere else.
    assert f"Bearer {SECRET}" in fresh.faults.seen_auth
    assert not [p for p in (tmp_path / "api").rglob("*") if p.is_file() and SECRET in p.read_text()]
    for task in ("keigo_form", "business_etiquette"):
        a, h = responses(tmp_path / "api", task), responses(tmp_path / "hf", task)
        assert a.keys() == h.keys() and len(h) == 16
        for k in h:
            # Same tokenizer, same (context, choice) split: the same tokens, so the same numbers.
            ra, rh = a[k]["response"], h[k]["response"]
            assert ra["n_tokens"] == rh["n_tokens"] and ra.get("boundary_merged") == rh.get("boundary_merged")
            assert max(abs(x - y) for x, y in zip(ra["logprobs"], rh["logprobs"], strict=True)) < 1e-4
            assert ra["is_greedy"] == rh["is_greedy"]
    ra_rec = json.loads((tmp_path / "api" / "run.json").read_text())
    rh_rec = json.loads((tmp_path / "hf" / "run.json").read_text())
    assert ra_rec["tokenizer_fit"] == rh_rec["tokenizer_fit"] and ra_rec["tokenizer_fit"]["boundary_f1"] > 0
    for task in ("keigo_form", "business_etiquette"):
        assert ra_rec["tasks"][task]["metrics"]["acc"]["value"] == rh_rec["tasks"][task]["metrics"]["acc"]["value"]


def test_continuation_logprob_reads_token_positions() -> None:
    # A 2-token context then a 2-token choice, then the generated token; offsets are ignored (vLLM's
    # are not character offsets).
    choice = {"logprobs": {"tokens": ["<s>", "A", "B", "C", "x"], "token_logprobs": [None, -1.0, -2.0, -0.5, -0.1],
                           "top_logprobs": [None, {"A": -1.0}, {"Q": -0.7, "B": -2.0}, {"C": -0.5}, {"x": -0.1}],
                           "text_offset": [0, 3, 4, 5, 6]}}  # fmt: skip
    assert continuation_logprob(choice, 2, 2) == (-2.5, False)
    assert continuation_logprob(choice, 3, 1) == (-0.5, True)
    with pytest.raises(KenteiError, match="no prompt log-probabilities"):
        continuation_logprob({"text": "AB"}, 1, 2)
    with pytest.raises(KenteiError, match="returned 5 token log-probs for a 9-token prompt"):
        continuation_logprob(choice, 4, 5)
    bad = {"logprobs": {"token_logprobs": [None, "x", -1.0]}}
    with pytest.raises(KenteiError, match="no numeric log-probability"):
        continuation_logprob(bad, 1, 1)


def test_cut_at_stop() -> None:
    assert cut_at_stop("東京です。\n次", ["\n", "。"]) == ("東京です", True)
    assert cut_at_stop("東京", ["\n"]) == ("東京", False)


# ---- failures ------------------------------------------------------------------------------------


def backend(srv: Server, **kw: object) -> OpenAIBackend:
    opts: dict = {"timeout_s": 5.0, "max_retries": 3, "concurrency": 2} | kw
    bk = OpenAIBackend.load(srv_model(srv), base_url=srv.url, **opts)
    bk.client.backoff_s = 0.01  # keep the test fast; the schedule itself is exponential
    return bk


def srv_model(srv: Server) -> str:
    with urllib.request.urlopen(srv.url + "/models") as r:
        return json.loads(r.read())["data"][0]["id"]


GEN = [GenerateRequest("t/1", "日本の首都は", ("\n",), 4)]


def test_retries_5xx_then_succeeds(fresh: Server) -> None:
    bk = backend(fresh)
    fresh.faults.status, fresh.faults.times = 503, 2
    out = bk.generate(GEN)
    assert len(out) == 1 and isinstance(out[0].text, str)
    assert bk.client.retries_used == 2


def test_429_honours_retry_after(fresh: Server) -> None:
    bk = backend(fresh)
    fresh.faults.status, fresh.faults.times, fresh.faults.retry_after = 429, 1, "0"
    assert bk.generate(GEN)[0].n_tokens >= 1
    assert bk.client.retries_used == 1


def test_persistent_500_is_a_clear_error(fresh: Server) -> None:
    bk = backend(fresh, max_retries=2)
    fresh.faults.status, fresh.faults.times = 500, 99
    with pytest.raises(KenteiError, match=r"failed after 3 attempts: HTTP 500: .*injected failure"):
        bk.generate(GEN)


def test_a_failure_stops_the_other_calls(fresh: Server) -> None:
    """Once one call has failed for good, queued calls are dropped and calls in flight stop
    retrying: the server sees about one call's retries per worker, not every retry of every call."""
    bk = backend(fresh, max_retries=5, concurrency=2)
    fresh.faults.status, fresh.faults.times = 500, 10**6
    before = fresh.faults.requests
    with pytest.raises(KenteiError, match="failed after 6 attempts"):
        bk.generate([GenerateRequest(f"t/{i}", "日本の首都は", ("\n",), 4) for i in range(6)])
    assert fresh.faults.requests - before <= 2 * 6  # 6 calls x 6 attempts = 36 without cancelling
    fresh.reset()
    assert bk.generate(GEN)[0].n_tokens >= 1  # the client works again after a cancelled batch


def test_reasoning_models_get_max_completion_tokens(fresh: Server) -> None:
    bk = backend(fresh)
    fresh.faults.reasoning_api = True
    turns = json.dumps([{"role": "user", "content": "日本の首都は"}], ensure_ascii=False)
    chat = [GenerateRequest("t/1", CHAT_PREFIX + turns + "}", (), 4)]
    assert bk.generate(chat)[0].n_tokens >= 1
    assert bk.generate(chat)[0].n_tokens >= 1
    sent = fresh.faults.chat_bodies
    assert "max_tokens" in sent[0] and all(b.get("max_completion_tokens") == 4 for b in sent[1:]) and len(sent) == 3


def test_timeout_is_a_clear_error(fresh: Server) -> None:
    bk = backend(fresh, timeout_s=0.3, max_retries=1)
    fresh.faults.sleep_s = 1.5
    with pytest.raises(KenteiError, match=r"no answer within 0.3 s"):
        bk.generate(GEN)


def test_garbage_body_is_a_clear_error(fresh: Server) -> None:
    bk = backend(fresh, max_retries=1)
    bk_tok = backend(fresh, max_retries=1, tokenizer=srv_model(fresh))
    fresh.faults.garbage = b"<html><body>502 Bad Gateway</body></html>"
    with pytest.raises(KenteiError, match=r"not JSON: .*Bad Gateway"):
        bk.generate(GEN)
    fresh.faults.garbage = b'{"id": "x", "object": "text_completion"}'
    with pytest.raises(KenteiError, match=r"unexpected answer .*choices"):
        bk.generate(GEN)
    fresh.faults.garbage = b'{"choices": [{"index": 0, "text": "AB"}]}'
    with pytest.raises(KenteiError, match="needs the served model's tokenizer"):
        bk.loglikelihood([LoglikelihoodRequest("t/1", "日本の", ("首都",))])
    with pytest.raises(KenteiError, match="no prompt log-probabilities"):
        bk_tok.loglikelihood([LoglikelihoodRequest("t/1", "日本の", ("首都",))])


def test_redirects_are_refused_so_the_key_stays_home(fresh: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENTEI_TEST_KEY", SECRET)
    bk = backend(fresh, api_key_env="KENTEI_TEST_KEY")
    fresh.faults.redirect = "http://127.0.0.2:9/v1/completions?token=x"
    with pytest.raises(KenteiError, match=r"redirected \(302\) to http://127.0.0.2:9/v1/completions;") as e:
        bk.generate(GEN)
    assert SECRET not in str(e.value) and "token=x" not in str(e.value)


def test_truncated_body_is_retried_then_a_clear_error(fresh: Server) -> None:
    bk = backend(fresh, max_retries=1)
    fresh.faults.truncate = True
    with pytest.raises(KenteiError, match=r"failed after 2 attempts: connection failed: IncompleteRead"):
        bk.generate(GEN)
    assert bk.client.retries_used == 1


def test_unauthorized_names_no_key(fresh: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENTEI_TEST_KEY", SECRET)
    bk = backend(fresh, api_key_env="KENTEI_TEST_KEY")
    fresh.faults.status, fresh.faults.times = 401, 1
    with pytest.raises(KenteiError, match="refused the credentials") as e:
        bk.generate(GEN)
    assert SECRET not in str(e.value)
    assert SECRET not in json.dumps(bk.info()) and "api_key" not in repr(bk.client)


def test_unreachable_server_fails_cleanly_with_nothing_written(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    r = run_cli("run", "--backend", "openai", "--model", "m", "--base-url", url, "--max-retries", "1",
                "--tasks", "culture_qa", "--limit", "2", "--mc-mode", "generate", "--out", str(tmp_path))  # fmt: skip
    assert r.returncode == 2 and "cannot connect" in r.stderr and url.rsplit("/v1")[0] in r.stderr
    assert "Traceback" not in r.stderr and not any(tmp_path.iterdir())


def test_bad_options(fresh: Server, tmp_path: Path) -> None:
    base = ["run", "--backend", "openai", "--tasks", "culture_qa", "--limit", "1", "--out", str(tmp_path)]
    r = run_cli(*base, "--model", "m")
    assert r.returncode == 2 and "--base-url" in r.stderr
    r = run_cli(*base, "--model", "m", "--base-url", "ftp://x")
    assert r.returncode == 2 and "http(s) URL" in r.stderr
    r = run_cli(*base, "--model", "no-such-model", "--base-url", fresh.url)
    assert r.returncode == 2 and "not served" in r.stderr and "it serves:" in r.stderr
    # A served id with a colon makes a safe default run id (not an "invalid run id" error).
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    r = run_cli(*base, "--model", "llama3.1:8b", "--base-url", nowhere, "--max-retries", "0")
    assert r.returncode == 2 and "cannot connect" in r.stderr and "invalid run id" not in r.stderr
    r = run_cli(*base, "--model", "m", "--backend", "vllm")
    assert r.returncode == 2 and "vllm serve" in r.stderr and "--backend openai" in r.stderr


@pytest.mark.slow
def test_failure_mid_task_keeps_responses_and_resumes(fresh: Server, tiny_path: Path, tmp_path: Path) -> None:
    """A server that dies after some answers: exit 2, the answered items stay stored, and the
    same --run-id finishes the task without asking for them again."""
    args = ["run", "--backend", "openai", "--model", str(tiny_path), "--base-url", fresh.url, "--no-chat",
            "--tasks", "culture_qa", "--limit", "40", "--max-new-tokens", "4", "--concurrency", "1",
            "--max-retries", "0", "--out", str(tmp_path), "--run-id", "r"]  # fmt: skip
    fresh.faults.pass_first, fresh.faults.status, fresh.faults.times = 1 + 32, 500, 10**6  # models + 1 chunk
    r = run_cli(*args)
    assert r.returncode == 2 and "HTTP 500" in r.stderr
    stored = responses(tmp_path / "r", "culture_qa")
    assert len(stored) == 32
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "running"

    fresh.reset()
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert fresh.faults.requests == 1 + 8  # /models, then only the 8 missing items
    lines = (tmp_path / "r" / "responses" / "culture_qa.jsonl").read_text().splitlines()
    assert len(lines) == 40 and len({json.loads(x)["id"] for x in lines}) == 40
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "complete"
