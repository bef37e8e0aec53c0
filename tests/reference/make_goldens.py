"""Regenerate tests/goldens/*.json by running the paper authors' reference code.

Not a test: the one part of the project that needs ../shared. It

1. builds a throwaway venv (default /tmp/agentdistill-refgold-venv) with the packages the reference
   needs (REFERENCE.md "Running it"; versions pinned below, from around the paper's release), plus the
   latex2sympy that the reference README tells users to install (Qwen2.5-Math/evaluation/latex2sympy,
   taken from a local git mirror of QwenLM/Qwen2.5-Math);
2. copies the reference (src/ + exps_research/) to a temp dir, with processors/agent.py replaced by
   agent.py.d53fa87 (HEAD's agent.py has a syntax error; d53fa87 is the version that runs);
3. re-runs this file inside that venv (`--inner`), where the reference's own entry points
   (process_qa_experiment, build_prefix_memory.main, preprocess_logs, filter_agent_trajectories,
   score_answers.process_entry) run against a scripted model: the reference's VLLMServerModel /
   OpenAIServerModel are subclassed so their OpenAI client talks to an httpx MockTransport. The
   transport records the exact JSON body the paper's runs POSTed to /chat/completions and answers with
   fixed completions. The Wikipedia retriever's HTTP call (requests.post) is replaced by fixed passages,
   so WikipediaRetrieverTool.forward still formats them itself.

Usage (from the repo root):  python tests/reference/make_goldens.py
Options: --reference DIR, --qwen-math-mirror GITDIR, --venv DIR, --out DIR (see --help).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference" / "agent-distillation"
if not DEFAULT_REFERENCE.exists():
    DEFAULT_REFERENCE = Path("/work/shared/reference/agent-distillation")
DEFAULT_QWEN_MATH = Path("/work/.mirror/QwenLM+Qwen2.5-Math/repo")
REFERENCE_COMMIT = "0f6cae3"

# The reference's runtime dependencies (its pyproject + the imports of exps_research), pinned to
# releases from around the paper (May 2025) so the rendering of prompts, the openai client's request
# body and the sympy-based grader do not drift. sympy/antlr pins are the reference's own.
VENV_PACKAGES = [
    "openai==1.82.0", "httpx==0.28.1", "pydantic==2.11.4", "jinja2==3.1.6", "pyyaml==6.0.2",
    "numpy==2.2.6", "datasets==3.6.0", "huggingface-hub==0.31.4", "rich==14.0.0",
    "markdownify==1.1.0", "duckduckgo-search==8.0.2", "python-dotenv==1.1.0", "pillow==11.2.1",
    "requests==2.32.3", "sympy==1.12", "antlr4-python3-runtime==4.11.1", "word2number==1.1",
    "regex==2024.11.6", "Pebble==5.1.1", "timeout-decorator==0.5.0", "tqdm==4.67.1",
    "matplotlib==3.10.3", "seaborn==0.13.2",
]


# --------------------------------------------------------------------------------------------------
# Outer driver: environment set-up (stdlib only)
# --------------------------------------------------------------------------------------------------

def _run(cmd: list[str], **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def _ensure_venv(venv: Path, qwen_math: Path, scratch: Path) -> Path:
    python = venv / "bin" / "python"
    stamp = venv / ".agentdistill-refgold"
    wanted = "\n".join(VENV_PACKAGES + [f"latex2sympy@{_git_head(qwen_math)}"])
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(python), "-m", "pip", "install", "-q", *VENV_PACKAGES])
    l2s = scratch / "latex2sympy"
    l2s.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "--git-dir", str(qwen_math), "archive", "HEAD:evaluation/latex2sympy"],
        check=True, capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(l2s)], input=archive, check=True)
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(l2s)])
    stamp.write_text(wanted)
    return python


def _git_head(gitdir: Path) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(gitdir), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def _copy_reference(reference: Path, dest: Path) -> None:
    for part in ("src", "exps_research"):
        shutil.copytree(reference / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    processors = dest / "exps_research" / "unified_framework" / "processors"
    shutil.copyfile(processors / "agent.py.d53fa87", processors / "agent.py")


def outer(args: argparse.Namespace) -> None:
    reference = Path(args.reference).resolve()
    qwen_math = Path(args.qwen_math_mirror).resolve()
    for path, what in ((reference / "REFERENCE.md", "the reference copy"), (qwen_math / "HEAD", "the Qwen2.5-Math git mirror")):
        if not path.exists():
            sys.exit(f"make_goldens: {what} not found at {path.parent} (see --help)")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="refgold-") as tmp:
        scratch = Path(tmp)
        python = _ensure_venv(Path(args.venv), qwen_math, scratch)
        venv_ready = time.monotonic()
        work = scratch / "reference"
        _copy_reference(reference, work)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(scratch),
            "PYTHONPATH": f"{work / 'src'}{os.pathsep}{work}",
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "PYTHONHASHSEED": "0",
            "MPLBACKEND": "Agg",
        }
        _run(
            [str(python), str(Path(__file__).resolve()), "--inner", "--work", str(work),
             "--out", str(Path(args.out).resolve()), "--tasks", str(REPO / "tasks"),
             "--qwen-math-commit", _git_head(qwen_math)],
            env=env, cwd=work,
        )
    end = time.monotonic()
    print(f"make_goldens: venv {venv_ready - start:.1f}s, reference runs {end - venv_ready:.1f}s, total {end - start:.1f}s")


# --------------------------------------------------------------------------------------------------
# Inner part: runs inside the throwaway venv with the reference importable
# --------------------------------------------------------------------------------------------------

TEACHER = "Qwen/Qwen2.5-32B-Instruct"
STUDENT = "Qwen/Qwen2.5-1.5B-Instruct"


def model_kwargs(model_id: str, *, fine_tuned: bool, temperature: float, n: int, max_tokens: int,
                 model_type: str = "vllm") -> dict:
    """The dict run_experiment.py builds from the run scripts' flags (top_p 0.8, seed 42 in all of them)."""
    return {"model_type": model_type, "model_id": model_id, "fine_tuned": fine_tuned,
            "temperature": temperature, "seed": 42, "max_tokens": max_tokens, "n": n, "top_p": 0.8}


# run_agent_teacher_{train,test}.sh: --n 1 --temperature 0.0 --top_p 0.8 --max_tokens 1024
TEACHER_AGENT = model_kwargs(TEACHER, fine_tuned=False, temperature=0.0, n=1, max_tokens=1024)
# run_agent_student.sh: N=8 TEMP=0.4 --top_p 0.8 MAX_TOKENS=1024 --fine_tuned (SAG)
STUDENT_SAG = model_kwargs(STUDENT, fine_tuned=True, temperature=0.4, n=8, max_tokens=1024)
# The same script with N=1, TEMP=0.0: a fine-tuned student without SAG (greedy).
STUDENT_GREEDY = model_kwargs(STUDENT, fine_tuned=True, temperature=0.0, n=1, max_tokens=1024)
# run_cot_student.sh uses --n 1 --temperature 0.0 --top_p 0.8 --max_tokens 4096; the teacher's CoT run
# that feeds the first-thought prefix has no script in the reference: its log name says temp=0.0 seed=42,
# the rest is assumed to be the same flags.
TEACHER_COT = model_kwargs(TEACHER, fine_tuned=False, temperature=0.0, n=1, max_tokens=4096)

VOLATILE = "<volatile>"

# Fixed retriever passages, in the "Title"\ntext form of the wiki-18 corpus.
PASSAGES = {
    "descendants of Black Seminoles settled": [
        (('"Black Seminoles"\nBlack Seminoles, or Afro-Seminoles, are Native American-African people associated '
          'with the Seminole people in Florida and Oklahoma. Some of their descendants, known as Mascogos, live in '
          'Coahuila, Mexico.'), 0.8713),
        (('"Mascogos"\nThe Mascogos are a group of Black Seminoles who settled in Nacimiento de los Negros, '
          'Coahuila, Mexico, in the 1850s.'), 0.8421),
        ('"Seminole"\nThe Seminole are a Native American people originally from Florida.', 0.8066),
    ],
    "David Huntsinger gospel singer": [
        (('"David Huntsinger"\nDavid Huntsinger is an American pianist and composer who has worked with gospel '
          'singer Larnelle Harris.'), 0.8530),
        ('"Larnelle Harris"\nLarnelle Harris (born July 6, 1947) is an American gospel singer and songwriter.',
         0.8375),
        ('"Gospel music"\nGospel music is a genre of Christian music.', 0.7741),
    ],
}
DEFAULT_PASSAGES = [
    (('"Seminole Wars"\nThe Seminole Wars were three conflicts in Florida between the United States and the '
      'Seminole.'), 0.7912),
    ('"Florida"\nFlorida is a state in the southeastern region of the United States.', 0.7604),
    ('"Oklahoma"\nOklahoma is a state in the South Central region of the United States.', 0.7433),
]


def inner(args: argparse.Namespace) -> None:
    import collections
    from importlib import metadata as importlib_metadata

    import httpx
    import openai
    import requests

    work = Path(args.work)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = work / "_runs"
    scratch.mkdir()
    # setup_model("openai") and score_answers read the key from this relative path: a dummy, never sent anywhere.
    (work / "keys" / "openai-key").mkdir(parents=True)
    (work / "keys" / "openai-key" / "key.env").write_text("sk-golden-dummy-not-a-key\n")

    import exps_research.unified_framework as uf
    import smolagents
    from exps_research.first_thought_prefix import build_prefix_memory
    from exps_research.train_utils import preprocess
    from exps_research.unified_framework import models as uf_models
    from exps_research.unified_framework import score_answers
    from exps_research.unified_framework.experiment import (
        load_prompt,
        process_qa_experiment,
    )
    from exps_research.unified_framework.filter_agent_training_data import (
        filter_agent_trajectories,
    )
    from exps_research.unified_framework.processors.reasoning import (
        ReasoningExperimentProcessor,
    )
    from smolagents import agents as sa_agents
    from smolagents import models as sa_models

    # ---------------- data: real items from the project's task files -----------------------------
    def load_items(task: str) -> dict:
        rows = [json.loads(line) for line in (Path(args.tasks) / task / "data" / f"{task}.jsonl").read_text().splitlines()]
        return {row["id"]: row for row in rows}

    ITEMS = {task: load_items(task) for task in ("gsm_hard", "math500", "hotpotqa", "aime", "olymmath")}

    def item(task: str, item_id) -> dict:
        row = ITEMS[task][item_id]
        return {"source": f"tasks/{task}/data/{task}.jsonl", "id": row["id"], "question": row["question"],
                "answer": row["answer"]}

    GSM = item("gsm_hard", 1309)         # gold 13138980.0 (a float, as in the reference's file)
    MATH = item("math500", 0)            # gold \left( 3, \frac{\pi}{2} \right)
    HOTPOT = item("hotpotqa", "5a85eed75542996432c5713b")   # gold Coahuila, Mexico
    HOTPOT2 = item("hotpotqa", "5a774e9c55429972597f14f3")  # gold Larnelle Harris

    # ---------------- scripted model: an HTTP transport that records every request ---------------
    class Recorder:
        def __init__(self):
            self.calls: list[dict] = []
            self.script: collections.deque = collections.deque()

        def start(self, completions: list) -> None:
            """completions: one entry per expected call; a str (one choice) or a list of str (n choices)."""
            self.calls = []
            self.script = collections.deque(completions)

        def finish(self, label: str) -> list[dict]:
            if self.script:
                raise RuntimeError(f"{label}: {len(self.script)} scripted completion(s) were never requested")
            return self.calls

        def handler(self, request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            if not self.script:
                raise RuntimeError(f"scripted model: no completion left for call {len(self.calls) + 1}")
            choices = self.script.popleft()
            choices = [choices] if isinstance(choices, str) else list(choices)
            self.calls.append({"path": request.url.path, "request_body": body, "response_choices": choices})
            return httpx.Response(200, json={
                "id": f"chatcmpl-golden-{len(self.calls)}", "object": "chat.completion", "created": 0,
                "model": body.get("model", ""),
                "choices": [{"index": i, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop", "logprobs": None} for i, text in enumerate(choices)],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
            })

    RECORDER = Recorder()

    def recording_client(client_kwargs: dict):
        return openai.OpenAI(**client_kwargs, max_retries=0,
                             http_client=httpx.Client(transport=httpx.MockTransport(RECORDER.handler)))

    class RecordingVLLMServerModel(sa_models.VLLMServerModel):
        """The reference's VLLMServerModel, unchanged up to the HTTP call: only its transport records."""

        def create_client(self):
            return recording_client(self.client_kwargs)

    class RecordingOpenAIServerModel(sa_models.OpenAIServerModel):
        def create_client(self):
            return recording_client(self.client_kwargs)

    # The trajectory log records type(model).__name__: keep the names the paper's logs carry.
    for recording, original in ((RecordingVLLMServerModel, sa_models.VLLMServerModel),
                                (RecordingOpenAIServerModel, sa_models.OpenAIServerModel)):
        recording.__name__ = recording.__qualname__ = original.__name__
    # setup_model() and score_answers look these names up at call time.
    uf_models.VLLMServerModel = RecordingVLLMServerModel
    uf_models.OpenAIServerModel = RecordingOpenAIServerModel
    score_answers.OpenAIServerModel = RecordingOpenAIServerModel

    # ---------------- retriever: fixed passages behind the tool's own HTTP call ------------------
    RETRIEVER_REQUESTS: list[dict] = []

    class RetrieverResponse:
        def __init__(self, data):
            self._data = data

        def raise_for_status(self):
            return None

        def json(self):
            return self._data

    def fake_post(url, json=None, **_kw):
        RETRIEVER_REQUESTS.append({"url": url, "payload": json})
        docs = PASSAGES.get(json["queries"][0], DEFAULT_PASSAGES)[: json["topk"]]
        return RetrieverResponse({"result": [[{"document": {"contents": text}, "score": score} for text, score in docs]]})

    requests.post = fake_post

    # ---------------- SAG instrumentation: observe, never change, the candidate checks ------------
    INTEGRITY: list[dict] = []
    original_check = sa_agents.CodeAgent.check_code_integrity

    def recorded_check(self, chat_message):
        ok, logs = original_check(self, chat_message)
        INTEGRITY.append({"content": chat_message.content, "valid": ok, "execution_logs": logs})
        return ok, logs

    sa_agents.CodeAgent.check_code_integrity = recorded_check

    # ---------------- helpers ----------------------------------------------------------------------
    counter = iter(range(10_000))

    def scrub(row: dict) -> dict:
        """Drop wall-clock values so the goldens are byte-stable."""
        meta = (row.get("log_data") or {}).get("metadata")
        if meta:
            meta["timestamp"] = VOLATILE
            meta["performance"] = {k: VOLATILE for k in meta["performance"]}
        return row

    def run_experiment(experiment_type: str, entry: dict, kwargs: dict, completions: list, label: str, **extra):
        """process_qa_experiment() as run_experiment.py calls it, sequential (max_workers=1)."""
        stem = scratch / f"{next(counter):03d}_{label}"
        data_file = stem.with_suffix(".json")
        data_file.write_text(json.dumps({"examples": [{"question": entry["question"], "answer": entry["answer"]}]}))
        output_file = str(stem.with_suffix(".jsonl"))
        RECORDER.start(completions)
        RETRIEVER_REQUESTS.clear()
        INTEGRITY.clear()
        extra_kwargs = dict(extra)
        if experiment_type == "agent":
            extra_kwargs.update(search_engine_type="wikipedia", max_steps=5, use_planning=False)
        else:
            extra_kwargs.update(add_think_token=False, use_local_model=False,
                                task_type="math" if "math" in label or "gsm" in label else "fact")
        process_qa_experiment(
            dataset_file=str(data_file), model_kwargs=dict(kwargs), experiment_type=experiment_type,
            output_file=output_file, max_workers=1, debug=False, track_cost=False, cost_threshold=None,
            fine_tuned=kwargs["fine_tuned"], verbose=False, use_process_pool=False, use_single_endpoint=True,
            **extra_kwargs,
        )
        calls = RECORDER.finish(label)
        rows = [json.loads(line) for line in Path(output_file).read_text().splitlines()]
        assert len(rows) == 1, f"{label}: expected one result row, got {len(rows)}"
        assert "error" not in rows[0], f"{label}: the reference failed: {rows[0].get('error')}"
        return calls, scrub(rows[0]), output_file

    def label_calls(calls: list[dict], row: dict) -> list[dict]:
        """Name each call: agent steps, then the max-steps final call (its system turn is the 'stuck' text)."""
        labelled = []
        for i, call in enumerate(calls):
            first = call["request_body"]["messages"][0]["content"]
            first = first if isinstance(first, str) else first[0]["text"]  # OpenAIServerModel keeps content lists
            kind = "final_answer_after_max_steps" if first.startswith("An agent tried to answer") else "agent_step"
            labelled.append({"index": i, "kind": kind, **call})
        return labelled

    def agent_case(case: str, domain: str, entry: dict, kwargs: dict, completions: list, note: str, **extra) -> dict:
        calls, row, _ = run_experiment("agent", entry, kwargs, completions, f"{case}_{domain}", **extra)
        return {
            "case": case, "domain": domain, "item": entry, "note": note,
            "prompt": "student (system_prompt_short)" if kwargs["fine_tuned"] else "teacher (system_prompt)",
            "model_kwargs": kwargs, "model_class": "VLLMServerModel" if kwargs["model_type"] == "vllm" else "OpenAIServerModel",
            "calls": label_calls(calls, row),
            "retriever_requests": list(RETRIEVER_REQUESTS),
            "generated_answer": row.get("generated_answer"),
            "result_row": row,
        }

    def code(thought: str, body: str) -> str:
        """A step as vLLM returns it: the stop sequence '<end_code>' itself is not part of the text."""
        return f"Thought: {thought}\nCode:\n```py\n{body}\n```"

    goldens: dict[str, dict] = {}
    env_info = {
        "reference": {"repository": "Nardien/agent-distillation", "commit": REFERENCE_COMMIT,
                      "processors/agent.py": "agent.py.d53fa87 (HEAD's agent.py does not parse)"},
        "latex2sympy": {"repository": "QwenLM/Qwen2.5-Math", "path": "evaluation/latex2sympy",
                        "commit": args.qwen_math_commit},
        "python": sys.version.split()[0],
        "packages": {name.split("==")[0]: importlib_metadata.version(name.split("==")[0]) for name in VENV_PACKAGES},
        "generator": "tests/reference/make_goldens.py",
    }

    # ======================= system prompts ========================================================
    probe_agent = smolagents.CodeAgent(tools=[smolagents.WikipediaRetrieverTool()], model=lambda *a, **k: None,
                                       additional_authorized_imports=["numpy", "sympy", "numpy.linalg"],
                                       verbosity_level=0, max_steps=5)
    preprocess_prompt = preprocess.populate_template(
        preprocess.PROMPT_TEMPLATES["system_prompt_short"],
        variables={"tools": {"web_search": smolagents.WikipediaRetrieverTool(), "final_answer": smolagents.FinalAnswerTool()}},
    )
    student_prompt = probe_agent.initialize_system_prompt(True)
    goldens["system_prompts"] = {
        "teacher": probe_agent.initialize_system_prompt(False),
        "student": student_prompt,
        "student_from_preprocess": preprocess_prompt,
        "student_equals_preprocess": student_prompt == preprocess_prompt,
        "tools": [{"name": t.name, "description": t.description, "inputs": t.inputs, "output_type": t.output_type}
                  for t in probe_agent.tools.values()],
        "authorized_imports": probe_agent.authorized_imports,
        "authorized_imports_rendered": str(probe_agent.authorized_imports),
    }
    # "agent_instruction" is added after case 1: the string is a local of AgentExperimentProcessor.process_entry,
    # so it is read back from the first user turn the reference sent.

    # ======================= case 1 + 2: correct runs ==============================================
    gsm_steps = [
        code("I need the number of apples both eat in one day, then multiply by 30 days.",
             "daily = 218983 * 2\ntotal = daily * 30\nprint(total)"),
        code("The total is 13138980 apples. I will return it.", 'final_answer("\\\\boxed{13138980}")'),
    ]
    math_steps = [
        code("The point (0,3) lies on the positive y-axis, so r = 3 and theta = pi/2. I will confirm with sympy.",
             "import sympy\nx, y = 0, 3\nr = sympy.sqrt(x**2 + y**2)\ntheta = sympy.atan2(y, x)\nprint(r, theta)"),
        code("r = 3 and theta = pi/2.", 'final_answer("\\\\left( 3, \\\\frac{\\\\pi}{2} \\\\right)")'),
    ]
    hotpot_steps = [
        code("I will search for where the descendants of the Black Seminoles settled.",
             'result = web_search(query="descendants of Black Seminoles settled")\nprint(result)'),
        code("The Mascogos, descendants of the Black Seminoles, live in Coahuila, Mexico.",
             'final_answer("Coahuila, Mexico")'),
    ]
    correct = []
    for prompt_case, kwargs in (("correct_teacher", TEACHER_AGENT), ("correct_student", STUDENT_GREEDY)):
        correct.append(agent_case(prompt_case, "math_gsm_hard", GSM, kwargs, gsm_steps,
                                  "print then final_answer with a boxed string"))
        correct.append(agent_case(prompt_case, "math_math500", MATH, kwargs, math_steps,
                                  "authorized sympy import, print of two values, final_answer"))
        correct.append(agent_case(prompt_case, "factual_hotpotqa", HOTPOT, kwargs, hotpot_steps,
                                  "web_search printed, then final_answer"))
    correct.append(agent_case(
        "correct_teacher_openai_server", "math_gsm_hard", GSM,
        model_kwargs("gpt-4o-mini", fine_tuned=False, temperature=0.0, n=1, max_tokens=1024, model_type="openai"),
        gsm_steps, "same completions through OpenAIServerModel (model_type openai): not what the paper's Qwen runs "
                   "sent; kept to show the difference (tool-call turns kept, content as lists)"))
    correct.append(agent_case("correct_teacher", "factual_hotpotqa", HOTPOT2, TEACHER_AGENT, [
        code("Find the gospel singer David Huntsinger worked with.",
             'print(web_search(query="David Huntsinger gospel singer"))') + "\n",
        code("Larnelle Harris was born on July 6, 1947.", 'final_answer("Larnelle Harris")') + "\n\n",
    ], "completions end with newlines after the closing fence: <end_code> is appended to the raw text, then the "
       "turn is stripped"))
    correct.append(agent_case("last_output", "math_gsm_hard", GSM, TEACHER_AGENT, [
        code("Daily total first.", "daily = 218983 * 2"),
        code("Now the 30 days, as a bare expression.", "daily * 30"),
        code("Loop without printing.", "for k in range(3):\n    total = daily * 30"),
        gsm_steps[1],
    ], "'Last output from code snippet' after an assignment, a bare expression and a for loop, with no prints"))
    correct.append(agent_case("last_output", "factual_hotpotqa", HOTPOT, TEACHER_AGENT, [
        code("Search without printing.", 'web_search(query="descendants of Black Seminoles settled")'),
        hotpot_steps[1],
    ], "a tool call as the last statement: its return value is the 'last output'"))
    goldens["agent_correct"] = {"cases": correct}
    first_user = correct[0]["calls"][0]["request_body"]["messages"][1]["content"]
    goldens["system_prompts"]["agent_instruction"] = first_user[len("New task:\n" + GSM["question"]):]

    # ======================= case 3, 4, 5: errors ===================================================
    errors = [
        agent_case("parse_error", "math_gsm_hard", GSM, TEACHER_AGENT, [
            "Thought: Each of them eats 218983 apples a day, so together 437966 a day, and 13138980 in 30 days.",
            "Thought: The final answer is 13138980, so I will give the final answer now.",
            gsm_steps[1],
        ], "step 1: no code block, no 'final'+'answer' words; step 2: no code block with them (other message)"),
        agent_case("execution_error", "math_gsm_hard", GSM, TEACHER_AGENT, [
            code("Compute the daily total, then divide to check.", "daily = 218983 * 2\nprint(daily)\nratio = daily / 0"),
            code("Division by zero was a mistake; daily is still defined.", "print(daily * 30)"),
            gsm_steps[1],
        ], "step 1 prints then raises ZeroDivisionError: observation and error turns both present"),
        agent_case("execution_error", "factual_hotpotqa", HOTPOT, TEACHER_AGENT, [
            code("Search and print the top passage.", 'result = web_search(query="descendants of Black Seminoles settled")\nprint(reslt)'),
            hotpot_steps[1],
        ], "undefined variable after a tool call (InterpreterError text)"),
        agent_case("unauthorized_import", "math_gsm_hard", GSM, TEACHER_AGENT, [
            code("Use os to read an environment variable, then compute.", "import os\nprint(218983 * 2 * 30)"),
            code("Compute without os, using numpy.", "import numpy as np\nprint(np.int64(218983) * 2 * 30)"),
            gsm_steps[1],
        ], "import os is not in the allow-list"),
        agent_case("unauthorized_import", "factual_hotpotqa", HOTPOT, TEACHER_AGENT, [
            code("Query Wikipedia over HTTP.", 'import requests\nprint(requests.get("https://en.wikipedia.org").status_code)'),
            hotpot_steps[0],
            hotpot_steps[1],
        ], "import requests is not in the allow-list"),
    ]
    goldens["agent_errors"] = {"cases": errors}

    # ======================= case 6: max steps =====================================================
    queries = ["Black Seminoles", "Seminole descendants", "Afro-Seminole settlement", "Seminole Maroons", "Mascogos"]
    stuck = [code(f"Search for {q}.", f'print(web_search(query="{q}"))') for q in queries]
    goldens["agent_max_steps"] = {"cases": [
        agent_case("max_steps", "factual_hotpotqa", HOTPOT, TEACHER_AGENT, stuck + ["Coahuila, Mexico"],
                   "5 steps without final_answer, then the final call without tools; its raw text is the answer"),
        agent_case("max_steps", "math_gsm_hard", GSM, TEACHER_AGENT,
                   [code(f"Step {k}: recompute.", f"print(218983 * 2 * 30 + {k})") for k in range(5)] + ["\\boxed{13138980}"],
                   "math: the IMPORTANT instruction is cut from the task in the final call"),
        agent_case("max_steps_sag", "math_gsm_hard", GSM, STUDENT_SAG,
                   [[code(f"Step {k}, sample {j}.", f"print(218983 * 2 * 30 + {k})") for j in range(8)] for k in range(5)]
                   + [[f"\\boxed{{{13138980 + j}}}" for j in range(8)]],
                   "student with SAG (n=8): the final call also asks for 8 samples and the reference keeps the first"),
    ]}

    # ======================= case 7: first-thought prefix ==========================================
    ftp_cases = []
    cot_texts = {
        "math_gsm_hard": (GSM, ("To find the total number of apples Marin and Nancy eat in 30 days, first find how many "
                                "they eat together in one day, then multiply by 30.\n\n1. Together per day: 218983 * 2 = "
                                "437966.\n2. In 30 days: 437966 * 30 = 13138980.\n\n<answer>\\boxed{13138980}</answer>"),
                          ["I will verify the arithmetic with code.\nCode:\n```py\ndaily = 218983 * 2\nprint(daily * 30)\n```",
                           gsm_steps[1]]),
        "factual_hotpotqa": (HOTPOT, ("The group of black Indians associated with the Seminole people is the Black "
                                      "Seminoles; some of their descendants, the Mascogos, settled in Mexico.\n\nThey "
                                      "settled in Coahuila.\n\n<answer>Coahuila, Mexico</answer>"),
                             [hotpot_steps[0][len("Thought: "):].split("\n", 1)[1], hotpot_steps[1]]),
    }
    for domain, (entry, cot_text, agent_completions) in cot_texts.items():
        cot_calls, cot_row, cot_file = run_experiment("reasoning", entry, TEACHER_COT, [cot_text], f"ftp_cot_{domain}")
        build_prefix_memory.main(argparse.Namespace(cot_log_path=cot_file))
        prefix_file = Path(cot_file).parent / "prefix_memory" / Path(cot_file).name.replace(".jsonl", ".json")
        prefix_memory = json.loads(prefix_file.read_text())
        case = agent_case("ftp", domain, entry, TEACHER_AGENT, agent_completions,
                          "agent run with prefix_memory from build_prefix_memory.py", prefix_memory=prefix_memory)
        case["cot_call"] = {"model_kwargs": TEACHER_COT, **cot_calls[0]}
        case["cot_result_row"] = cot_row
        case["prefix_memory"] = prefix_memory
        ftp_cases.append(case)
    goldens["agent_ftp"] = {"cases": ftp_cases}

    # ======================= case 8: SAG ===========================================================
    def sag_case(case: str, domain: str, entry: dict, steps: list[list[str]], note: str, tail: list | None = None) -> dict:
        result = agent_case(case, domain, entry, STUDENT_SAG, steps + (tail or []), note)
        checks = list(INTEGRITY)
        assistant_turns = [m["content"] for m in result["result_row"]["log_data"]["messages"] if m["role"] == "assistant"]
        sag_steps, offset = [], 0
        for step_index, candidates in enumerate(steps):
            step_checks = checks[offset: offset + len(candidates)]
            offset += len(candidates)
            shown = assistant_turns[step_index][0]["text"]
            in_memory = [(c + "<end_code>" if c.strip().endswith("```") else c).strip() for c in candidates]
            picked = [i for i, text in enumerate(in_memory) if text == shown]
            assert len(picked) == 1, f"{case}: step {step_index + 1} winner not identifiable"
            groups: dict[str, list[int]] = {}
            for i, check in enumerate(step_checks):
                if check["valid"]:
                    groups.setdefault(check["execution_logs"], []).append(i)
            sag_steps.append({
                "step": step_index + 1,
                "candidates": [{"index": i, "content": c, "valid": step_checks[i]["valid"],
                                "execution_logs": step_checks[i]["execution_logs"]} for i, c in enumerate(candidates)],
                "valid_groups_by_logs": [{"execution_logs": k, "candidates": v} for k, v in groups.items()],
                "picked_index": picked[0],
            })
        assert offset == len(checks), f"{case}: {len(checks)} integrity checks for {offset} candidates"
        result["sag_steps"] = sag_steps
        return result

    bad_parse = "Thought: The answer is clear without code."
    sag = [
        sag_case("sag_tie", "factual_hotpotqa", HOTPOT, [[
            bad_parse,
            code("Search (typo).", 'print(web_serch(query="Black Seminoles"))'),
            code("Search the descendants.", 'print(web_search(query="descendants of Black Seminoles settled"))'),
            code("Search the singer instead.", 'print(web_search(query="David Huntsinger gospel singer"))'),
            code("Search where the descendants settled.", 'print(web_search(query="descendants of Black Seminoles settled"))'),
            code("Search the gospel singer.", 'print(web_search(query="David Huntsinger gospel singer"))'),
            "Code:\n```py\nprint(1 +)\n```",
            code("Divide.", "print(1 / 0)"),
        ], [
            code(f"Answer variant {k}.", f'final_answer("{ans}")')
            for k, ans in enumerate(["Coahuila, Mexico", "Mexico", "Coahuila, Mexico", "Florida",
                                     "Oklahoma", "Coahuila", "Texas", "Nacimiento"])
        ]], "step 1: 1 parse failure (no code block), 3 raising (unknown function, syntax error, ZeroDivisionError), two tied groups of 2 by logs -> earliest "
            "group; step 2: all 8 only call final_answer (empty logs): one group, the first candidate wins"),
        sag_case("sag_majority", "math_gsm_hard", GSM, [[
            bad_parse,
            code("Per-day only.", "print(218983 * 2)"),
            code("Undefined name.", "print(apples * 30)"),
            code("Both, 30 days.", "print(218983 * 2 * 30)"),
            code("Total over the month.", "total = 218983 * 30 * 2\nprint(total)"),
            "no code at all",
            code("Same total, other order.", "print(30 * 2 * 218983)"),
            code("Per-day again.", "print(2 * 218983)"),
        ], [
            code(f"Return it (variant {k}).", 'final_answer("\\\\boxed{13138980}")') for k in range(8)
        ]], "step 1: 3 candidates print 13138980 (indices 3,4,6), 2 print 437966 (1,7): first of the majority (3)"),
        sag_case("sag_no_valid", "math_gsm_hard", GSM, [[
            code("Raise first.", "print(undefined_name)"),
            bad_parse,
            code("Import os.", "import os\nprint(os.getcwd())"),
            "Thought: still thinking",
            code("Divide by zero.", "print(1 / 0)"),
            code("Bad syntax.", "print((1 +)"),
            code("Unknown tool.", 'print(calculator("2+2"))'),
            "Thought: no code again",
        ], [
            code(f"Now correctly (variant {k}).", "print(218983 * 2 * 30)") for k in range(8)
        ], [
            code(f"Return (variant {k}).", 'final_answer("\\\\boxed{13138980}")') for k in range(8)
        ]], "step 1: no candidate valid -> candidate 0 is kept and re-run (its error is the observation)"),
    ]
    goldens["agent_sag"] = {"cases": sag}

    # ======================= case 9: training trajectory ===========================================
    train_rows = [correct[0]["result_row"], correct[2]["result_row"], goldens["agent_max_steps"]["cases"][0]["result_row"],
                  ftp_cases[0]["result_row"]]
    train_labels = ["correct_teacher/math_gsm_hard", "correct_teacher/factual_hotpotqa",
                    "max_steps/factual_hotpotqa", "ftp/math_gsm_hard"]
    train_file = scratch / "teacher_trajectories.jsonl"
    for row in train_rows:
        uf.utils.append_result(row, str(train_file))
    dataset = preprocess.preprocess_logs(str(train_file)).to_list()
    examples = []
    source_of_example = []
    for label, row in zip(train_labels, train_rows):
        source_of_example.append(label)
        extra = [s for s in row["log_data"]["original_memory"]["steps"] if s.get("messages")]
        source_of_example.extend(f"{label} (original_memory step)" for _ in extra)
    assert len(source_of_example) == len(dataset), "preprocess_logs produced an unexpected number of examples"
    for label, example in zip(source_of_example, dataset):
        examples.append({
            "from": label,
            "messages": example["messages"],
            # DataCollatorForCompletionOnlyLMMultiTurn (finetune_sft.py, solution_type agent; Qwen templates
            # '<|im_start|>assistant' / '<|im_start|>user'): trained = tokens after each '<|im_start|>assistant'
            # up to the next '<|im_start|>user' (or the end); everything before the first assistant is masked.
            "loss_mask": [m["role"] == "assistant" for m in example["messages"]],
        })
    scored_dir = scratch / "evaluations"
    scored_dir.mkdir()
    scored_file = scored_dir / "trajectories_scored.jsonl"
    filter_inputs = [("correct_teacher/math_gsm_hard", correct[0]), ("parse_error/math_gsm_hard", errors[0]),
                     ("execution_error/math_gsm_hard", errors[1]), ("unauthorized_import/math_gsm_hard", errors[3]),
                     ("max_steps/factual_hotpotqa", goldens["agent_max_steps"]["cases"][0])]
    with open(scored_file, "w") as handle:
        for label, case in filter_inputs:
            handle.write(json.dumps({**case["result_row"], "score": 1, "golden_label": label}) + "\n")
    filter_agent_trajectories(str(scored_file))
    filtered_file = str(scored_file).replace("_scored.jsonl", "_filtered.jsonl").replace("/evaluations", "/filtered_data")
    kept = {json.loads(line)["golden_label"] for line in Path(filtered_file).read_text().splitlines()}
    filter_golden = [{"from": label, "score": 1, "kept": label in kept} for label, _ in filter_inputs]
    goldens["training_trajectory"] = {
        "raw_log_messages": {label: row["log_data"]["messages"] for label, row in zip(train_labels, train_rows)},
        "examples": examples,
        "filter_with_score_1": filter_golden,
    }

    # ======================= case 10: CoT and RAG prompts ==========================================
    cot_cases = []
    cot_items = {
        "math_gsm_hard": (GSM, "Together they eat 437966 a day.\n\n<answer>\\boxed{13138980}</answer>"),
        "math_math500": (MATH, "r = 3, theta = pi/2.\n\n<answer>\\left( 3, \\frac{\\pi}{2} \\right)</answer>"),
        "factual_hotpotqa": (HOTPOT, "The Black Seminoles' descendants settled in Mexico.\n\n<answer>Coahuila, Mexico</answer>"),
    }
    for domain, (entry, completion) in cot_items.items():
        for student in (False, True):
            kwargs = (model_kwargs(STUDENT, fine_tuned=True, temperature=0.0, n=1, max_tokens=4096)
                      if student else TEACHER_COT)
            calls, row, _ = run_experiment("reasoning", entry, kwargs, [completion], f"cot_{domain}_{int(student)}")
            cot_cases.append({"case": "cot", "domain": domain, "item": entry, "model_kwargs": kwargs,
                              "call": calls[0], "generated_answer": row["generated_answer"], "result_row": row})
    # RAG: the documents string is read from data_processor/retrieved_documents/<dataset file> (not in the
    # reference subset); its format here (Search-R1's 'Doc i(Title: t) text' lines) is an assumption. What the
    # reference itself decides is only: user turn = documents + "\n" + question.
    rag_docs = {
        "factual_hotpotqa": (HOTPOT, ('Doc 1(Title: "Black Seminoles") Black Seminoles, or Afro-Seminoles, are Native '
                                      'American-African people associated with the Seminole people.\nDoc 2(Title: '
                                      '"Mascogos") The Mascogos live in Coahuila, Mexico.\n')),
        "math_gsm_hard": (GSM, 'Doc 1(Title: "Apple") An apple is a round, edible fruit.\n'),
    }
    for domain, (entry, docs) in rag_docs.items():
        calls, row, _ = run_experiment("reasoning", entry, TEACHER_COT, [cot_items[domain][1]], f"rag_{domain}",
                                       retrieved_documents={entry["question"]: docs})
        cot_cases.append({"case": "rag", "domain": domain, "item": entry, "model_kwargs": TEACHER_COT,
                          "retrieved_documents": docs, "call": calls[0], "generated_answer": row["generated_answer"],
                          "result_row": row})
    goldens["cot_rag_prompts"] = {"teacher_model_system_prompt": load_prompt("teacher_model"), "cases": cot_cases}

    # ======================= case 11: math grader ==================================================
    MATH_EQUAL_CALLS: list[tuple] = []
    original_math_equal = score_answers.math_equal

    def recorded_math_equal(prediction, reference, *a, **k):
        MATH_EQUAL_CALLS.append((prediction, reference))
        return original_math_equal(prediction, reference, *a, **k)

    score_answers.math_equal = recorded_math_equal
    # math_equal(timeout=True) runs the sympy check in a child process joined after 1 s and counts a late
    # answer as "not equal": decisions then depend on machine load (seen here: 6 of the pairs flip on a busy
    # 2-core machine). The goldens record the decision of a machine fast enough for the 1 s (the limit is
    # raised to 120 s) and flag every pair whose decision went through that timed check.
    from exps_research.unified_framework.math_utils import qwen_math_grader
    TIMED_CHECKS: list[dict] = []
    original_call_with_timeout = qwen_math_grader.call_with_timeout

    def patient_call_with_timeout(func, *a, timeout=1, **k):
        started = time.monotonic()
        result = original_call_with_timeout(func, *a, timeout=120, **k)
        TIMED_CHECKS.append({"reference_timeout_s": timeout, "seconds": round(time.monotonic() - started, 2),
                             "result": bool(result)})
        return result

    qwen_math_grader.call_with_timeout = patient_call_with_timeout
    reasoning = ReasoningExperimentProcessor({}, verbose=False)
    cot_model = uf_models.setup_model(**{**TEACHER_COT, "api_base": "http://0.0.0.0:8000/v1"})
    grader_rows = []
    for task, item_id, path, text in GRADER_PAIRS:
        entry = item(task, item_id)
        MATH_EQUAL_CALLS.clear()
        TIMED_CHECKS.clear()
        record = {"source": entry["source"], "id": entry["id"], "gold": entry["answer"], "path": path}
        if path == "agent":
            row = {"question": entry["question"], "true_answer": entry["answer"], "generated_answer": text}
            record["prediction"] = text
        else:
            RECORDER.start([text])
            row = reasoning.process_entry({"question": entry["question"], "answer": entry["answer"]}, cot_model,
                                          system_prompt=load_prompt("teacher_model"), task_type="math")
            RECORDER.finish("grader cot")
            record["completion"] = text
            record["cot_generated_answer"] = row["generated_answer"]
        scored = score_answers.process_entry((row, None, "math", True))
        assert len(MATH_EQUAL_CALLS) == 1
        record["extracted"] = MATH_EQUAL_CALLS[0][0]
        record["gold_as_compared"] = MATH_EQUAL_CALLS[0][1]
        record["decision"] = bool(scored["score"])
        # True: math_equal fell through to the sympy check the reference gives 1 s, which then decided; a True
        # there turns False on a machine too slow for that second.
        record["timed_symbolic_check"] = bool(TIMED_CHECKS)
        grader_rows.append(record)
    goldens["math_grader"] = {"pairs": grader_rows}

    # ======================= case 12: judge ========================================================
    judge_model = score_answers.setup_scoring_model()
    judge_prompts = []
    for entry, prediction, reply in (
        (HOTPOT, "Coahuila, Mexico", '{"explanation": "Same place.", "score": 1}'),
        (HOTPOT2, "Larnelle Harris, the gospel singer born in July 1947", '{"explanation": "Same person.", "score": 1}'),
        (HOTPOT, "They settled in Florida and later Oklahoma. " + "Very long reasoning. " * 60,
         '{"explanation": "Wrong place.", "score": 0}'),
    ):
        RECORDER.start([reply])
        row = {"question": entry["question"], "true_answer": entry["answer"], "generated_answer": prediction}
        scored = score_answers.process_entry((row, judge_model, "fact", True))
        call = RECORDER.finish("judge")[0]
        judge_prompts.append({"item": entry, "prediction": prediction, "prediction_length": len(prediction),
                              "call": call, "score": scored["score"], "explanation": scored["explanation"]})
    replies = [
        '{"explanation": "Same place.", "score": 1}',
        '{"explanation": "Different person.", "score": 0}',
        '{"score": 1, "explanation": "Keys in another order."}',
        '{"explanation": "Extra field.", "score": 1, "confidence": 0.9}',
        '{"explanation": "Score as a string.", "score": "1"}',
        '{"explanation": "Score as a float.", "score": 1.0}',
        '{"explanation": "Out of range.", "score": 2}',
        '{"explanation": "No score."}',
        '```json\n{"explanation": "Fenced.", "score": 1}\n```',
        "The answers match. Score: 1",
        "",
    ]
    parses = []
    for reply in replies:
        RECORDER.start([reply])
        row = {"question": HOTPOT["question"], "true_answer": HOTPOT["answer"], "generated_answer": "Coahuila, Mexico"}
        try:
            scored = score_answers.process_entry((row, judge_model, "fact", True))
            outcome = {"ok": True, "score": scored["score"], "explanation": scored["explanation"]}
        except Exception as exc:  # noqa: BLE001 - the reference lets any of these escape: record which
            outcome = {"ok": False, "error_type": f"{type(exc).__module__}.{type(exc).__name__}",
                       "error_message": str(exc).split("\n")[0]}
        RECORDER.finish("judge parse")
        parses.append({"raw_reply": reply, **outcome})
    goldens["judge"] = {"prompts": judge_prompts, "reply_parsing": parses}

    # ======================= write ================================================================
    for name, payload in goldens.items():
        payload = {"golden": name, "generated_with": env_info, **payload}
        (out / f"{name}.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {out / (name + '.json')}")


# (task, id, path, text): path "agent" = the text is the agent's final answer (generated_answer);
# "cot" = the text is a full CoT completion, processed by processors/reasoning.py first.
GRADER_PAIRS = [
    # GSM-Hard: float golds
    ("gsm_hard", 1309, "agent", "\\boxed{13138980}"),
    ("gsm_hard", 1309, "agent", 13138980),
    ("gsm_hard", 1309, "agent", "13138980"),
    ("gsm_hard", 1309, "agent", "13,138,980"),
    ("gsm_hard", 1309, "agent", "\\boxed{13138980.0}"),
    ("gsm_hard", 1309, "agent", "13138980 apples"),
    ("gsm_hard", 1309, "agent", "13138981"),
    ("gsm_hard", 1309, "agent", "13139980"),
    ("gsm_hard", 1309, "agent", "\\boxed{1.313898 \\times 10^7}"),
    ("gsm_hard", 457, "agent", "561161.7"),
    ("gsm_hard", 457, "agent", "\\boxed{561162}"),
    ("gsm_hard", 1209, "agent", "5031.98"),
    ("gsm_hard", 1209, "agent", "\\boxed{\\frac{70447.7}{14}}"),
    ("gsm_hard", 569, "agent", "0.0000446752"),
    ("gsm_hard", 569, "agent", "4.5e-05"),
    ("gsm_hard", 178, "agent", "-7020321"),
    ("gsm_hard", 178, "agent", "7020321"),
    ("gsm_hard", 1309, "cot", "They eat 437966 a day.\n\n<answer>\\boxed{13138980}</answer>"),
    ("gsm_hard", 1309, "cot", "They eat 437966 a day.\n\n<answer>13138980</answer>"),
    ("gsm_hard", 1309, "cot", "They eat 437966 a day.\n\n<answer>The answer is 13138980 apples.</answer>"),
    ("gsm_hard", 1309, "cot", "They eat 437966 a day, so 13138980 in 30 days.\n\nThe final answer is \\boxed{13138980}."),
    ("gsm_hard", 1309, "cot", "<answer>First 437966 per day.\n\nThen 13138980.</answer>"),
    # MATH500
    ("math500", 0, "agent", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("math500", 0, "agent", "(3, \\frac{\\pi}{2})"),
    ("math500", 0, "agent", "\\boxed{(3, \\frac{\\pi}{2})}"),
    ("math500", 0, "agent", "(3, \\pi/2)"),
    ("math500", 0, "agent", "(3, 1.5708)"),
    ("math500", 0, "agent", "(3, \\pi)"),
    ("math500", 2, "agent", "\\frac{14}{3}"),
    ("math500", 2, "agent", "14/3"),
    ("math500", 2, "agent", "\\boxed{\\dfrac{14}{3}}"),
    ("math500", 2, "agent", "4\\frac{2}{3}"),
    ("math500", 2, "agent", "4 2/3"),
    ("math500", 2, "agent", "4.6667"),
    ("math500", 2, "agent", "4.67"),
    ("math500", 4, "agent", "Evelyn"),
    ("math500", 4, "agent", "\\boxed{\\text{Evelyn}}"),
    ("math500", 4, "agent", "evelyn"),
    ("math500", 7, "agent", "90"),
    ("math500", 7, "agent", "\\boxed{90^\\circ}"),
    ("math500", 7, "agent", "90 degrees"),
    ("math500", 8, "agent", "\\sqrt{117}"),
    ("math500", 8, "agent", "3*sqrt(13)"),
    ("math500", 8, "agent", "10.8167"),
    ("math500", 25, "agent", "-2, 1"),
    ("math500", 36, "agent", "\\boxed{3,5,7}"),
    ("math500", 103, "agent", "(3, 4]"),
    ("math500", 103, "agent", "[3,4]"),
    ("math500", 103, "agent", "(3,4)"),
    ("math500", 184, "agent", "(2, \\infty)"),
    ("math500", 184, "agent", "x > 2"),
    ("math500", 307, "agent", "(-\\infty,0]"),
    ("math500", 380, "agent", "(0, 9) \\cup (9, 36)"),
    ("math500", 155, "agent", "25\\%"),
    ("math500", 155, "agent", "\\boxed{25\\%}"),
    ("math500", 155, "agent", "25"),
    ("math500", 155, "agent", "0.25"),
    ("math500", 266, "agent", "33\\%"),
    ("math500", 266, "agent", "0.33"),
    ("math500", 162, "agent", "34%"),
    ("math500", 198, "agent", "10080"),
    ("math500", 198, "agent", "10,080"),
    ("math500", 242, "agent", "32348"),
    ("math500", 242, "agent", "\\$32,348"),
    ("math500", 301, "agent", "5.4"),
    ("math500", 23, "agent", "5"),
    ("math500", 23, "agent", "x = 5"),
    ("math500", 99, "agent", "\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\\\ \\frac{5}{3} \\end{pmatrix}"),
    ("math500", 227, "agent", "C"),
    ("math500", 227, "agent", "\\boxed{(C)}"),
    ("math500", 166, "agent", "\\frac{270}{7}"),
    ("math500", 96, "agent", "1+\\sqrt{19}, 1-\\sqrt{19}"),
    ("math500", 1, "agent", "-q + p"),
    ("math500", 2, "cot", "Compute.\n\n<answer>\\frac{14}{3}</answer>"),
    ("math500", 2, "cot", "Compute.\n\n<answer>\\(\\boxed{\\frac{14}{3}}\\)</answer>"),
    ("math500", 2, "cot", "Compute.\n\n<answer>14/3</answer>"),
    ("math500", 2, "cot", "Try \\boxed{4} first, then correct it.\n\nSo the answer is \\boxed{\\frac{14}{3}}."),
    ("math500", 2, "cot", "<answer>3</answer> is wrong; <answer>\\boxed{\\frac{14}{3}}</answer>"),
    ("math500", 0, "cot", "Polar form.\n\n<answer>\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}</answer>"),
    ("math500", 155, "cot", "Percent.\n\n<answer>25\\%</answer>"),
    ("math500", 4, "cot", "Compare.\n\n<answer>Evelyn</answer>"),
    # AIME: string integer golds with leading zeros
    ("aime", 6, "agent", "33"),
    ("aime", 6, "agent", "\\boxed{033}"),
    ("aime", 0, "agent", "\\boxed{116}"),
    ("aime", 0, "agent", "115"),
    ("aime", 6, "cot", "So m+n = 33.\n\n<answer>\\boxed{33}</answer>"),
    # OlymMATH
    ("olymmath", 8, "agent", "[-1/8, 1/8]"),
    ("olymmath", 8, "agent", "\\left[-0.125, 0.125\\right]"),
    ("olymmath", 1, "agent", "-14+4\\sqrt{15}"),
    ("olymmath", 9, "agent", "131072"),
    ("olymmath", 5, "agent", "\\pi - \\arccos(1/8)"),
    ("olymmath", 8, "cot", "Range.\n\n<answer>\\boxed{\\left[-\\frac{1}{8}, \\frac{1}{8}\\right]}</answer>"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", default=str(DEFAULT_REFERENCE), help="the reference copy (../shared/reference/agent-distillation)")
    parser.add_argument("--qwen-math-mirror", default=str(DEFAULT_QWEN_MATH),
                        help="git dir of QwenLM/Qwen2.5-Math (its evaluation/latex2sympy is what the reference README installs)")
    parser.add_argument("--venv", default="/tmp/agentdistill-refgold-venv", help="throwaway venv (reused when its pins match)")
    parser.add_argument("--out", default=str(REPO / "tests" / "goldens"), help="where the golden JSON files go")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--tasks", help=argparse.SUPPRESS)
    parser.add_argument("--qwen-math-commit", help=argparse.SUPPRESS)
    args = parser.parse_args()
    inner(args) if args.inner else outer(args)


if __name__ == "__main__":
    main()
