"""Shipped benchmark data: manifests, checksums, row errors, stable ids, quirks, the hub path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agentdistill.core.answers import math_equal
from agentdistill.tasks._core import find_benchmark, task_names
from agentdistill.tasks._core.data import DataError, load_hub, load_samples, sha256_file


def _load_build_script():
    """The maintainers' rebuild script (tests/tools, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_task_data", Path(__file__).parent / "tools" / "build_task_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_task_data = _load_build_script()

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

COUNTS = {
    "hotpotqa": 500, "bamboogle": 125, "musique": 500, "2wikimultihopqa": 500, "math500": 500,
    "gsm_hard": 500, "aime": 90, "olymmath": 200, "hotpotqa_train": 1000, "math_train": 2000,
}

# sha256 of the reference implementation's files (../shared/data/MANIFEST.json)
ORIGINAL_SHA256 = {
    "hotpotqa_500_20250422.json": "770b2740d2d5195f983dbeae3c770900edab776b5986b4cbff3194443a771b00",
    "musique_500_20250504.json": "683634bcc958a79b144cffb815d4f56002dc22ed7358e11b897f9ff03ba69110",
    "gsm_hard_500_20250507.json": "970c69744216a75fe04eb86ff1adaf208df5191e2731c6ef0610bd2312266498",
    "math_1000_20250414.json": "71240de787bb08c59b09bbb5fa4daa2cb536849da29dfdd25bf9e27c7eff344b",
    "math_medium_1000_20250430.json": "af3aaef02faf2264aa32e30ca9b531b26ca7662f6be87a718ef3f5eb139e31ba",
}


@pytest.fixture(scope="module")
def all_samples():
    return {name: load_samples(name) for name in COUNTS}


def test_counts_and_manifests(all_samples):
    assert set(COUNTS) <= set(task_names())  # the paper's ten sets (generated task families have their own tests)
    for name, count in COUNTS.items():
        bench = find_benchmark(name)
        manifest = bench.manifest()
        assert len(all_samples[name]) == count == manifest["items"]
        assert manifest["sha256"] == sha256_file(bench.data_file)
        assert manifest["domain"] in ("math", "factual") and manifest["description"]
        assert manifest["license"] and manifest["sources"] and manifest["file"] == f"{name}.jsonl"
        assert sum(source["items"] for source in manifest["sources"]) == count
        for source in manifest["sources"]:
            assert source["upstream"].startswith("Nardien/agent-distillation@0f6cae3")
            if source["file"] in ORIGINAL_SHA256:
                assert source["sha256"] == ORIGINAL_SHA256[source["file"]]


def test_ids_unique_stable_and_strings(all_samples):
    again = load_samples("musique")
    assert [s.id for s in again] == [s.id for s in all_samples["musique"]]
    for name, samples in all_samples.items():
        ids = [s.id for s in samples]
        assert all(isinstance(i, str) and i == i.strip() and i for i in ids), name
        assert len(set(ids)) == len(ids), name
        for sample in samples:
            assert sample.metadata["task"] == name
            assert sample.metadata["domain"] == find_benchmark(name).domain
            assert {"level", "type", "subject", "hop_kind"} <= set(sample.metadata)


def test_metadata_fields(all_samples):
    by_id = {name: {s.id: s for s in samples} for name, samples in all_samples.items()}
    first = by_id["math500"]["0"]
    assert first.metadata["level"] == "2" and first.metadata["subject"] == "Precalculus"
    assert by_id["2wikimultihopqa"]["1824"].metadata["hop_kind"] == "bridge_comparison"
    assert by_id["musique"]["3hop1__454441_55349_651302"].metadata["hop_kind"] == "3hop1"
    aime = by_id["aime"]["0"].metadata
    assert (aime["year"], aime["contest"], aime["problem"]) == (2022, "AIME I", 1)
    levels = [s.metadata["level"] for s in all_samples["olymmath"]]
    assert levels.count("easy") == 100 and levels.count("hard") == 100
    assert by_id["gsm_hard"]["1309"].metadata["gsmhardv2_row"] == 1309
    assert by_id["gsm_hard"]["1309"].target == "13138980.0"
    levels = {s.metadata["level"] for s in all_samples["math_train"]}
    assert levels == {"2", "3", "4", "5"}


def test_quirks_fixed_without_dropping(all_samples):
    musique = {s.id: s for s in all_samples["musique"]}
    odd = musique["1__804367_160713_77246"]
    assert odd.metadata["original_id"] == " 1__804367_160713_77246" and odd.metadata["hop_kind"] == "3hop"
    a, b = musique["3hop2__851134_326964_7713"], musique["3hop2__326964_851134_7713"]
    assert a.input == b.input and a.metadata["duplicate_of"] == b.id and b.metadata["duplicate_of"] == a.id
    math_train = {s.id: s for s in all_samples["math_train"]}
    assert sum(s.id.startswith("hard-") for s in all_samples["math_train"]) == 1000
    assert sum(s.id.startswith("medium-") for s in all_samples["math_train"]) == 1000
    for sample_id in ("medium-124", "medium-519", "hard-174", "hard-499"):
        assert math_train[sample_id].metadata["answer_fixed"] is True
    assert math_train["medium-124"].target == "2" and math_train["medium-519"].target == "9"
    assert math_train["hard-174"].target == ["(A)", "0"]


def test_hand_filled_answers_are_right():
    import sympy

    x, y = sympy.symbols("x y")
    roots = sympy.solve(sympy.Eq(x / 5 + 1 / (5 * x), sympy.Rational(1, 2)), x)
    assert math_equal(str(max(roots)), "2")
    # (x+y)^2 = 1 and xy = -4  =>  x^2 + y^2 = (x+y)^2 - 2xy
    assert math_equal(str(1 - 2 * (-4)), "9")


def _copy_task(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(find_benchmark(name).data_dir, target)
    return target


def test_corrupted_file_fails_with_expected_and_actual(tmp_path):
    folder = _copy_task(tmp_path, "bamboogle")
    path = folder / "bamboogle.jsonl"
    text = path.read_text()
    path.write_text(text.replace("james madison", "james monroe", 1))
    expected = find_benchmark("bamboogle").manifest()["sha256"]
    with pytest.raises(DataError) as info:
        load_samples("bamboogle", data_dir=folder)
    message = str(info.value)
    assert str(path) in message and expected in message and sha256_file(path) in message
    assert "sha256 mismatch" in message


def _write_with_manifest(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(sha256=sha256_file(path), items=len(lines))
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_malformed_row_names_file_row_field(tmp_path):
    folder = _copy_task(tmp_path, "aime")
    rows = (folder / "aime.jsonl").read_text().splitlines()[:4]
    broken = json.loads(rows[2])
    del broken["question"]
    path = _write_with_manifest(folder, "aime", [rows[0], rows[1], json.dumps(broken), rows[3]])
    with pytest.raises(DataError, match=r"row 3: field 'question': missing or empty") as info:
        load_samples("aime", data_dir=folder)
    assert str(path) in str(info.value)

    no_answer = json.loads(rows[1])
    no_answer["answer"] = None
    _write_with_manifest(folder, "aime", [rows[0], json.dumps(no_answer)])
    with pytest.raises(DataError, match=r"aime.jsonl: row 2: field 'answer'"):
        load_samples("aime", data_dir=folder)

    _write_with_manifest(folder, "aime", [rows[0], '{"id": 1, "question": '])
    with pytest.raises(DataError, match=r"aime.jsonl: row 2: not valid JSON"):
        load_samples("aime", data_dir=folder)


def test_shipped_rows_are_the_originals():
    """Each shipped row is the original record (plus `_`-prefixed provenance fields)."""
    if not SHARED.exists():
        pytest.skip("the shared originals are not on this machine")
    for name, originals_files in build_task_data.ORIGINALS.items():
        shipped = [json.loads(line) for line in find_benchmark(name).data_file.read_text().splitlines()]
        originals = [row for path in originals_files for row in json.loads((SHARED / path).read_text())["examples"]]
        assert [{k: v for k, v in row.items() if not k.startswith("_")} for row in shipped] == originals, name


def test_gsm_hard_ids_are_gsmhardv2_rows():
    if not SHARED.exists():
        pytest.skip("the shared originals are not on this machine")
    rows = (SHARED / "gsm_hard/source/gsmhardv2.jsonl").read_text().splitlines()
    for sample in load_samples("gsm_hard")[:50]:
        assert json.loads(rows[int(sample.id)])["input"].strip() == sample.input


def _json_loader(files: dict[str, Path], cache: Path):
    """A stand-in for datasets.load_dataset that reads local JSONL files, offline."""
    from datasets import load_dataset

    calls = []

    def loader(path, name=None, split=None):
        calls.append((path, name, split))
        return load_dataset("json", data_files=str(files[name or path]), split="train", cache_dir=str(cache))

    loader.calls = calls
    return loader


def test_hub_path_on_local_files(tmp_path):
    paper = load_samples("hotpotqa")[:3]
    upstream = tmp_path / "hotpot.jsonl"
    records = [
        {"id": s.id, "question": s.input, "answer": s.target, "type": "bridge", "level": "hard",
         "supporting_facts": {"title": [], "sent_id": []}}
        for s in paper
    ] + [{"id": "not-in-paper", "question": "Q?", "answer": "A", "type": "comparison", "level": "hard",
          "supporting_facts": {"title": [], "sent_id": []}}]
    upstream.write_text("\n".join(json.dumps(r) for r in records))
    loader = _json_loader({"distractor": upstream}, tmp_path / "cache")
    samples = load_hub(find_benchmark("hotpotqa"), loader=loader)
    assert loader.calls == [("hotpotqa/hotpot_qa", "distractor", "validation[100:600]")]
    assert [s.id for s in samples] == [s.id for s in paper]  # only the paper's items
    assert [s.target for s in samples] == [s.target for s in paper]
    assert samples[0].metadata["hop_kind"] == "bridge" and samples[0].metadata["domain"] == "factual"
    everything = load_hub(find_benchmark("hotpotqa"), loader=loader, paper_ids=False)
    assert len(everything) == 4


def test_hub_path_maps_upstream_schemas(tmp_path):
    # MATH-500 style: problem/solution/answer/subject/level/unique_id (ids differ from the paper's)
    math500 = tmp_path / "math500.jsonl"
    math500.write_text(json.dumps({
        "problem": "Convert the point $(0,3)$ to polar coordinates.", "solution": "... $\\boxed{(3,\\frac{\\pi}{2})}$",
        "answer": "\\left( 3, \\frac{\\pi}{2} \\right)", "subject": "Precalculus", "level": 2,
        "unique_id": "test/precalculus/807.json"}) + "\n")
    samples = load_hub(find_benchmark("math500"), loader=_json_loader({"HuggingFaceH4/MATH-500": math500}, tmp_path / "c1"))
    assert samples[0].id == "test/precalculus/807.json" and samples[0].metadata["level"] == "2"
    assert samples[0].metadata["subject"] == "Precalculus"

    # hendrycks MATH: no answer field, the gold is the last boxed of the solution; configs concatenated
    files = {}
    for config in find_benchmark("math_train").hub.name:
        files[config] = tmp_path / f"{config}.jsonl"
        files[config].write_text(json.dumps({
            "problem": f"A {config} problem?", "level": "Level 4", "type": config,
            "solution": "So $x=\\boxed{\\frac{1}{2}}$."}) + "\n")
    samples = load_hub(find_benchmark("math_train"), loader=_json_loader(files, tmp_path / "c2"), paper_ids=False)
    assert len(samples) == 7 and samples[0].id == "algebra-0" and samples[0].target == "\\frac{1}{2}"

    # GSM-Hard upstream: input/code/target, id = row index
    gsm = tmp_path / "gsm.jsonl"
    gsm.write_text("\n".join(json.dumps({"input": f"Question {i}?", "code": "", "target": 2.5 * i}) for i in range(3)))
    samples = load_hub(find_benchmark("gsm_hard"), loader=_json_loader({"reasoning-machines/gsm-hard": gsm}, tmp_path / "c3"), paper_ids=False)
    assert [s.id for s in samples] == ["0", "1", "2"] and samples[2].target == "5.0"

    # a malformed upstream row names the set, the row and the field
    bad = tmp_path / "bamboogle.jsonl"
    bad.write_text(json.dumps({"Question": "Q1?", "Answer": "A1"}) + "\n" + json.dumps({"Question": "Q2?", "Answer": ""}) + "\n")
    with pytest.raises(DataError, match=r"chiayewken/bamboogle .*row 2: field 'answer'"):
        load_hub(find_benchmark("bamboogle"), loader=_json_loader({"chiayewken/bamboogle": bad}, tmp_path / "c4"))


def test_task_source_argument_rejects_unknown():
    with pytest.raises(ValueError, match="'local' or 'hub'"):
        load_samples("aime", source="web")


def test_rebuild_reproduces_the_shipped_files(tmp_path):
    if not SHARED.exists():
        pytest.skip("the shared originals are not on this machine")
    shutil.copytree(find_benchmark("gsm_hard").folder.parent, tmp_path / "tasks")
    build_task_data.build(SHARED, tasks_dir=tmp_path / "tasks")
    for name in build_task_data.ORIGINALS:
        bench = find_benchmark(name)
        assert sha256_file(tmp_path / "tasks" / name / "data" / f"{name}.jsonl") == bench.manifest()["sha256"]
        rebuilt = json.loads((tmp_path / "tasks" / name / "data" / "manifest.json").read_text())
        assert rebuilt == bench.manifest(), name
