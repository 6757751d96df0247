"""`kentei export hf` and `kentei export lm-eval`: real exports of real tasks, read back by the tools
they are for (datasets.load_dataset, lm-eval's task loader and CLI), compared with kentei itself."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kentei.export_hf import MANIFEST, hub_license
from kentei.prompts import choose_fewshot, render_prompt
from kentei.tasks import select_tasks

from .conftest import make_task, run_cli

# No network here. One torch thread per process: on 2 busy cores, spinning OpenMP threads of two
# processes starve each other (measured: twice the time), and a tiny model gains nothing from more.
SUBPROCESS_ENV = {
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
}


def ok(res: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert res.returncode == 0, (res.returncode, res.stdout[-2000:], res.stderr[-4000:])
    return res


def assert_clean_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    text = " ".join(res.stderr.split())
    for n in needles:
        assert n in text, text


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def front_matter(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n", 2)[1])


# ---------------------------------------------------------------------------------------------
# Hugging Face datasets


def load_hf(path: Path, cache: Path) -> Any:
    import datasets

    return datasets.load_dataset(str(path), cache_dir=str(cache))


def test_hf_export_loads_back_with_every_item(tmp_path: Path) -> None:
    out = tmp_path / "hf"
    names = ["keigo_form", "culture_qa", "keigo_rewrite"]  # MC; generation with sparse extra keys; extra keys
    res = ok(run_cli("export", "hf", "--tasks", ",".join(names), "--out", str(out), "--json"))
    summary = json.loads(res.stdout)
    assert [s["task"] for s in summary] == names
    for task in select_tasks(",".join(names)):
        all_keys = {k for li in task.test + task.fewshot for k in li.item.model_dump()}
        ds = load_hf(out / task.name, tmp_path / "cache")
        assert set(ds) == {"test", "fewshot"}
        for split, loaded in (("test", task.test), ("fewshot", task.fewshot)):
            src = [li.item.model_dump(mode="json") for li in loaded]
            rows = ds[split].to_list()
            assert len(rows) == len(src)
            ids = [r["id"] for r in rows]
            assert sorted(ids) == sorted(s["id"] for s in src) and len(set(ids)) == len(ids)
            columns = ds[split].column_names
            assert set(columns) == all_keys
            by_id = {r["id"]: r for r in rows}
            for s in src:
                # Every field equal (lists stay lists); a key this item lacks reads back as null.
                assert by_id[s["id"]] == {c: s.get(c) for c in columns}, s["id"]

        card = (out / task.name / "README.md").read_text(encoding="utf-8")
        fm = front_matter(card)
        assert fm["license"] == "cc-by-4.0" and task.spec.license == "CC-BY-4.0"
        assert fm["language"] == ["ja"]
        assert fm["canary"] == task.spec.canary
        assert fm["size_categories"] == ["n<1K"]
        kind = "multiple-choice" if task.spec.kind == "multiple_choice" else "text-generation"
        assert fm["task_categories"] == [kind]
        splits = {d["split"]: d["path"] for d in fm["configs"][0]["data_files"]}
        assert splits == {"test": "data/test-00000-of-00001.parquet", "fewshot": "data/fewshot-00000-of-00001.parquet"}
        body = card.split("---\n", 2)[2]
        assert task.spec.canary in body and "Do not train on it" in body
        datasheet = (task.dir / "README.md").read_text(encoding="utf-8")
        assert all(line in body for line in datasheet.splitlines())  # the datasheet is appended
        assert (out / task.name / "task.yaml").read_text(encoding="utf-8") == (task.dir / "task.yaml").read_text(
            encoding="utf-8"
        )


def test_hf_mixed_type_field_is_kept_as_json_text(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    rows = [
        {"id": "a", "category": "c", "input": "一", "references": ["1"], "rationale": "r", "level": 1},
        {"id": "b", "category": "c", "input": "二", "references": ["2"], "rationale": "r", "level": "高"},
        {"id": "c", "category": "c", "input": "三", "references": ["3"], "rationale": "r", "meta": {"k": [1, 2]}},
    ]
    make_task(tasks, "mixed", kind="generation", test=rows)
    out = tmp_path / "hf"
    summary = json.loads(ok(run_cli("export", "hf", "--tasks-dir", str(tasks), "--out", str(out), "--json")).stdout)
    assert summary[0]["json_columns"] == ["level"]
    ds = load_hf(out / "mixed", tmp_path / "cache")
    got = {r["id"]: r for r in ds["test"].to_list()}
    assert [json.loads(got[i]["level"]) if got[i]["level"] else None for i in "abc"] == [1, "高", None]
    assert got["c"]["meta"] == {"k": [1, 2]} and got["a"]["meta"] is None
    assert "Stored as JSON text." in (out / "mixed" / "README.md").read_text(encoding="utf-8")


def test_hub_license_mapping() -> None:
    assert hub_license("CC-BY-4.0") == {"license": "cc-by-4.0"}
    assert hub_license("Apache-2.0") == {"license": "apache-2.0"}
    assert hub_license("CC0-1.0") == {"license": "cc0-1.0"}
    assert hub_license("Kentei Internal Use") == {"license": "other", "license_name": "kentei-internal-use"}


def test_reexport_replaces_own_files_and_keeps_foreign_ones(tmp_path: Path) -> None:
    out = tmp_path / "hf"
    ok(run_cli("export", "hf", "--tasks", "keigo_form,culture_qa", "--out", str(out)))
    (out / "NOTES.md").write_text("mine\n")
    ok(run_cli("export", "hf", "--tasks", "keigo_form", "--out", str(out)))
    assert not (out / "culture_qa").exists()  # the previous export's task is gone, folder and all
    assert (out / "NOTES.md").read_text() == "mine\n"
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] is True and manifest["export"] == "hf"
    assert all(f.startswith("keigo_form/") for f in manifest["files"])


def test_bad_input_is_refused_without_touching_files(tmp_path: Path) -> None:
    for kind in ("hf", "lm-eval"):
        res = run_cli("export", kind, "--tasks", "no_such_task", "--out", str(tmp_path / kind))
        assert_clean_error(res, "unknown task 'no_such_task'", "known tasks:")
        assert not (tmp_path / kind).exists()

    foreign = tmp_path / "foreign"
    (foreign / "sub").mkdir(parents=True)
    (foreign / "keep.txt").write_text("precious\n")
    (foreign / "sub" / "keigo_form.jsonl").write_text("also precious\n")
    before = snapshot(foreign)
    for kind in ("hf", "lm-eval"):
        res = run_cli("export", kind, "--tasks", "keigo_form", "--out", str(foreign))
        assert_clean_error(res, "refusing to write into a non-empty folder that kentei did not write")
        assert snapshot(foreign) == before

    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert_clean_error(run_cli("export", "hf", "--out", str(a_file)), "--out must be a folder")

    # A kentei export of the other kind is not overwritten either.
    hf = tmp_path / "hf_out"
    ok(run_cli("export", "hf", "--tasks", "keigo_form", "--out", str(hf)))
    before = snapshot(hf)
    assert_clean_error(run_cli("export", "lm-eval", "--out", str(hf)), "holds a kentei 'hf' export")
    # Nor a file the user put where this export would write.
    (hf / "culture_qa").mkdir()
    (hf / "culture_qa" / "README.md").write_text("my own card\n")
    res = run_cli("export", "hf", "--tasks", "keigo_form,culture_qa", "--out", str(hf))
    assert_clean_error(res, "refusing to overwrite a file that kentei did not write")
    assert snapshot(hf) == {**before, "culture_qa/README.md": b"my own card\n"}

    # A manifest that does not parse marks nothing as kentei's.
    (hf / MANIFEST).write_text("{not json")
    assert_clean_error(run_cli("export", "hf", "--tasks", "keigo_form", "--out", str(hf)), "unreadable")


# ---------------------------------------------------------------------------------------------
# lm-evaluation-harness


def lm_eval_tasks(include: Path, names: list[str]) -> dict[str, Any]:
    """The exported tasks as lm-eval itself loads them (its YAML loader, !function, custom_dataset)."""
    pytest.importorskip("lm_eval")
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_path=str(include), include_defaults=False)
    return tm.load([f"kentei_{n}" for n in names])["tasks"]


def test_lm_eval_sees_exactly_kentei_prompts_and_requests(tmp_path: Path) -> None:
    out = tmp_path / "lm"
    names = ["keigo_form", "culture_qa"]
    ok(run_cli("export", "lm-eval", "--tasks", ",".join(names), "--out", str(out)))
    loaded = lm_eval_tasks(out, names)
    for task in select_tasks(",".join(names)):
        lt = loaded[f"kentei_{task.name}"]
        docs = list(lt.test_docs())
        assert [d["id"] for d in docs] == [li.item.id for li in task.test]  # file order: --limit N = kentei's
        pool = [li.item for li in task.fewshot]
        for doc, li in zip(docs, task.test, strict=True):
            # kentei's plain prompt, built here independently of the exporter.
            shots = choose_fewshot(pool, task.spec.num_fewshot, 1234, task.name, li.item.id)
            expected = render_prompt(task.spec, li.item, shots, "loglikelihood", None).text
            ctx = lt.fewshot_context(doc, 0)
            assert ctx == expected
            req = lt.construct_requests(doc, ctx)
            if task.spec.kind == "multiple_choice":
                assert [r.arguments for r in req] == [(expected, c) for c in li.item.choices]
                assert lt.doc_to_target(doc) == li.item.answer
            else:
                gen = req.arguments[1]
                assert req.arguments[0] == expected
                assert gen["until"] == task.spec.generation.stop
                assert gen["max_gen_toks"] == task.spec.generation.max_new_tokens
                assert gen["do_sample"] is False
        meta = lt.config.metadata
        assert meta["version"] == task.spec.version and meta["kentei_items_sha256"] == task.items_sha256()
        assert lt.config.num_fewshot == 0

    # Generation scoring goes through kentei's scorers.
    qa = loaded["kentei_culture_qa"]
    doc = next(iter(qa.test_docs()))
    right = qa.process_results(doc, [doc["references"][0]])
    wrong = qa.process_results(doc, ["まったく違う答え"])
    assert set(right) == {"qa_match", "exact_match", "char_f1"}
    assert right["qa_match"] == 1.0 and right["char_f1"] == 1.0
    assert wrong["qa_match"] == 0.0 and 0.0 <= wrong["char_f1"] < 1.0

    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_path=str(out), include_defaults=False)
    assert sorted(tm.load("kentei")["group_map"]["kentei"]) == ["kentei_culture_qa", "kentei_keigo_form"]
    assert tm.load("kentei_keigo")["group_map"]["kentei_keigo"] == ["kentei_keigo_form"]


def test_lm_eval_export_is_relocatable_and_num_fewshot_override(tmp_path: Path) -> None:
    ok(run_cli("export", "lm-eval", "--tasks", "keigo_form", "--num-fewshot", "1", "--out", str(tmp_path / "a")))
    moved = tmp_path / "elsewhere" / "b"
    moved.parent.mkdir()
    (tmp_path / "a").rename(moved)
    lt = lm_eval_tasks(moved, ["keigo_form"])["kentei_keigo_form"]
    task = select_tasks("keigo_form")[0]
    doc = next(iter(lt.test_docs()))
    shots = choose_fewshot([li.item for li in task.fewshot], 1, 1234, task.name, task.test[0].item.id)
    assert lt.fewshot_context(doc, 0) == render_prompt(task.spec, task.test[0].item, shots, "loglikelihood", None).text
    assert lt.config.metadata["kentei_num_fewshot"] == 1


def test_corpus_metric_is_aggregated_over_the_corpus(tmp_path: Path) -> None:
    from kentei.scoring import aggregate, score_rows

    tasks = tmp_path / "tasks"
    refs = [
        "東京駅から新幹線で大阪へ向かいます",
        "会議の資料を明日までにお送りいたします",
        "工場の安全点検は毎朝八時に行います",
    ]
    test = [
        {"id": f"g{i}", "category": "c", "input": f"問{i}", "references": [r], "rationale": "r"}
        for i, r in enumerate(refs * 2)
    ]
    d = make_task(tasks, "bleu_task", kind="generation", test=test)
    spec = (d / "task.yaml").read_text().replace("[{name: exact_match}]", "[{name: exact_match}, {name: bleu}]")
    (d / "task.yaml").write_text(spec)
    out = tmp_path / "lm"
    ok(run_cli("export", "lm-eval", "--tasks-dir", str(tasks), "--out", str(out)))
    lt = lm_eval_tasks(out, ["bleu_task"])["kentei_bleu_task"]
    docs = list(lt.test_docs())
    outputs = [refs[0], "会議の資料を明日お送りします", "工場の点検は毎朝行います", "全く別の文", refs[1], "安全点検"]
    values = [lt.process_results(doc, [o]) for doc, o in zip(docs, outputs, strict=True)]
    lm_bleu = lt.aggregation()["bleu"]([v["bleu"] for v in values])
    lm_em = sum(v["exact_match"] for v in values) / len(values)

    rows = [
        {"id": doc["id"], "item": json.loads(doc["item"]), "prompt": doc["prompt"], "prompt_sha256": "-",
         "response": {"text": o}}
        for doc, o in zip(docs, outputs, strict=True)
    ]  # fmt: skip
    specs = [{"name": "exact_match", "args": {}}, {"name": "bleu", "args": {}}]
    metrics, _ = aggregate(score_rows("generation", specs, "generate", rows), specs)
    assert lm_bleu == pytest.approx(metrics["bleu"].value, abs=1e-9)
    assert 0.0 < lm_bleu < 100.0
    assert lm_em == pytest.approx(metrics["exact_match"].value)


@pytest.mark.slow
def test_lm_eval_cli_on_tiny_ja_matches_kentei_run(tmp_path: Path, tiny_path: Path) -> None:
    """lm-eval's CLI over the export and `kentei run --no-chat` give the same per-item results."""
    pytest.importorskip("lm_eval")
    limit = 24  # items per task: enough to mix right and wrong answers, small enough for CI
    names = ["keigo_form", "business_etiquette", "culture_qa"]
    include = tmp_path / "lm"
    ok(run_cli("export", "lm-eval", "--tasks", ",".join(names), "--out", str(include)))
    lm_out = tmp_path / "lm_out"
    res = subprocess.run(
        [sys.executable, "-m", "lm_eval", "--model", "hf",
         "--model_args", f"pretrained={tiny_path},dtype=float32", "--device", "cpu",
         "--include_path", str(include), "--tasks", ",".join(f"kentei_{n}" for n in names),
         "--limit", str(limit), "--batch_size", "32", "--output_path", str(lm_out), "--log_samples"],
        cwd=tmp_path, env=dict(os.environ, **SUBPROCESS_ENV), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-4000:]
    (results_file,) = glob.glob(str(lm_out / "*" / "results_*.json"))
    lm_results = json.loads(Path(results_file).read_text())["results"]

    runs = tmp_path / "runs"
    ok(
        run_cli(
            "run", "--model", "tiny-ja", "--tasks", ",".join(names), "--limit", str(limit), "--no-chat",
            "--device", "cpu", "--dtype", "float32", "--batch-size", "32", "--json", "--out", str(runs),
            "--run-id", "x", env=SUBPROCESS_ENV,
        )
    )  # fmt: skip
    rec = json.loads((runs / "x" / "run.json").read_text())

    for name in names:
        (samples_file,) = glob.glob(str(lm_out / "*" / f"samples_kentei_{name}_*.jsonl"))
        samples = [json.loads(line) for line in Path(samples_file).read_text().splitlines()]
        ours = {r["id"]: r for r in map(json.loads, (runs / "x" / f"{name}.jsonl").read_text().splitlines())}
        # lm-eval's --limit took the first N docs in file order, as kentei's --limit does.
        assert sorted(s["doc"]["id"] for s in samples) == sorted(ours) and len(samples) == limit
        task_metrics = rec["tasks"][name]["metrics"]
        for metric in task_metrics:
            per_item = {s["doc"]["id"]: s[metric] for s in samples}
            assert per_item == {i: r["scores"][metric] for i, r in ours.items()}, (name, metric)
            lm_value = lm_results[f"kentei_{name}"][f"{metric},none"]
            assert 0.0 <= lm_value <= 1.0
            if rec["tasks"][name]["kind"] == "multiple_choice":
                # Accuracy as counts: exactly the same number of right answers.
                assert round(lm_value * limit) == round(task_metrics[metric]["value"] * limit)
                assert sum(per_item.values()) == round(task_metrics[metric]["value"] * limit)
            else:
                assert lm_value == pytest.approx(task_metrics[metric]["value"], abs=1e-12)
        for s in samples:
            assert s["doc"]["prompt"] == ours[s["doc"]["id"]]["prompt"]
            if name == "culture_qa":
                assert s["filtered_resps"][0] == ours[s["doc"]["id"]]["response"]["text"]
