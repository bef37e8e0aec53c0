"""The CodeAct agent driven end to end by the scripted model, in the real sandbox (bwrap): every path of the loop,
SAG's choosers and votes, FTP, and hostile code from the model."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import get_model

import agentdistill.registry  # noqa: F401  (registers the scripted model and the solvers)
from agentdistill.solvers.agent.solvers import agent, agent_ftp, agent_sag
from agentdistill.core.stats import run_stats, stats_of

SANDBOX = os.environ.get("AGENTDISTILL_TEST_SANDBOX", "bwrap")


def defined(name: str) -> str:
    """Code that sets `known` to whether `name` is defined (the reference's builtins have no globals())."""
    return f"try:\n    {name}\n    known = True\nexcept NameError:\n    known = False\n"


def code(body: str, thought: str = "I compute it.") -> str:
    return f"Thought: {thought}\nCode:\n```py\n{body}\n```<end_code>"


def run(script: Any, solver, *, question="What is 6 times 7?", target="42", domain="math", log_dir=None,
        sandbox=SANDBOX):
    sample = Sample(id="s1", input=question, target=target, metadata={"domain": domain, "task": "test"})
    task = Task(dataset=[sample], solver=solver, scorer=run_stats(), sandbox=sandbox)
    model = get_model("scripted/agent-test", script=script)
    [log] = eval(task, model=model, display="none", log_dir=str(log_dir), log_samples=True)
    assert log.status == "success", log.error
    [result] = log.samples
    return result


def turns(sample) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in sample.messages]


def observations(sample) -> list[str]:
    """The user turns after the task: observations and errors (the reference's tool responses)."""
    return [m.text for m in sample.messages[2:] if m.role == "user"]


def stats(sample) -> dict[str, float]:
    return stats_of(sample)  # the sample's metadata holds the counters


# --- greedy loop ------------------------------------------------------------------------------------------------


def test_clean_two_step_solve(log_dir):
    script = [
        {"turn": 0, "reply": code("x = 6 * 7\nprint('x is', x)")},
        {"turn": 1, "match": "x is 42", "reply": code("final_answer(x)", "x is 42, done.")},
    ]
    sample = run(script, agent(), log_dir=log_dir)
    roles = [role for role, _ in turns(sample)]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert sample.messages[1].text.startswith("New task:\nWhat is 6 times 7?\n\nIMPORTANT:")
    assert "\\boxed" in sample.messages[1].text  # the instruction asks every domain for a boxed exact answer
    assert "- web_search:" in sample.messages[0].text  # the reference lists web_search in every domain
    assert sample.messages[2].text.endswith("```<end_code>")
    assert observations(sample) == ["Call id: call_1\nObservation:\nExecution logs:\nx is 42\n"
                                    "Last output from code snippet:\nNone"]
    assert sample.metadata["agent"]["reproduction"] is True and sample.metadata["agent"]["prompt"] == "teacher"
    assert sample.metadata["final_answer"] == "42"
    assert sample.output.completion == "42"
    s = stats(sample)
    assert (s["steps"], s["parse_errors"], s["exec_errors"], s["max_steps_hit"]) == (2, 0, 0, 0)
    assert s["tokens_generated"] > 0
    steps = sample.metadata["agent"]["steps"]
    assert len(steps) == 2 and steps[0]["candidates"][0]["valid"] is True


def test_parse_error_then_recovery(log_dir):
    script = [
        {"turn": 0, "reply": "Thought: I believe the answer is 42."},
        {"turn": 1, "match": "Error in code parsing", "reply": code("final_answer(6 * 7)")},
    ]
    sample = run(script, agent(), log_dir=log_dir)
    [obs] = observations(sample)
    assert obs.startswith("Error:\nError in code parsing:\nYour code snippet is invalid")  # no call id
    assert obs.endswith("try a completely different approach.\n")
    assert sample.metadata["final_answer"] == "42"
    s = stats(sample)
    assert (s["steps"], s["parse_errors"], s["exec_errors"]) == (2, 1, 0)
    assert sample.metadata["agent"]["steps"][0]["candidates"][0]["valid"] is False


def test_exec_error_then_recovery(log_dir):
    script = [
        {"turn": 0, "reply": code("y = 1\nprint('before')\nprint(undefined_name)")},
        {"turn": 1, "match": "not defined", "reply": code("final_answer(y * 42)")},
    ]
    sample = run(script, agent(), log_dir=log_dir)
    [obs] = observations(sample)
    # the observation (prints before the error) and the error arrive as one user turn, as the reference sent them
    assert obs == ("Call id: call_1\nObservation:\nExecution logs:\nbefore\nCall id: call_1\nError:\n"
                   "Code execution failed at line 'print(undefined_name)' due to: InterpreterError: The variable "
                   "`undefined_name` is not defined.\nNow let's retry: take care not to repeat previous errors! "
                   "If you have retried several times, try a completely different approach.\n")
    assert sample.metadata["final_answer"] == "42"
    s = stats(sample)
    assert (s["steps"], s["parse_errors"], s["exec_errors"]) == (2, 0, 1)


def test_timeout_is_an_error_observation_and_state_survives(log_dir):
    script = [
        {"turn": 0, "reply": code("keep = 41")},
        {"turn": 1, "reply": code("lost = 1\nwhile True:\n    pass")},
        {"turn": 2, "match": "(?i)time", "reply": code(defined("lost") + "print(known)\nfinal_answer(keep + 1)")},
    ]
    sample = run(script, agent(timeout=2), log_dir=log_dir)
    obs = observations(sample)
    assert re.search(r"(?i)time", obs[1]) and "let's retry" in obs[1]
    assert sample.metadata["final_answer"] == "42"
    assert stats(sample)["exec_errors"] == 1


def test_max_steps_then_the_stuck_call(log_dir):
    script = [
        {"match": "Based on the above", "reply": "From the computations the answer is \\boxed{42}."},
        {"reply": code("print('still thinking')")},
    ]
    sample = run(script, agent(max_steps=2), log_dir=log_dir)
    assert [role for role, _ in turns(sample)] == ["system", "user"] + ["assistant", "user"] * 2
    stuck = sample.metadata["agent"]["stuck_call"]
    assert stuck["messages"][0]["content"].startswith("An agent tried to answer a user query but it got stuck")
    assert [m["role"] for m in stuck["messages"]] == ["system", "user"] + ["assistant", "user"] * 2
    assert stuck["messages"][-1]["content"].endswith(
        "None" + "Based on the above, please provide an answer to the following user task:\nWhat is 6 times 7?")
    assert sample.metadata["agent"]["generated_answer"] == stuck["completion"] == sample.output.completion
    assert stuck["completion"] == "From the computations the answer is \\boxed{42}."  # the reference's answer
    assert sample.metadata["final_answer"] == "42"  # what the project's scorers read
    assert sample.metadata["agent"]["fallback"] is True
    s = stats(sample)
    assert (s["steps"], s["max_steps_hit"]) == (2, 1)


def test_factual_episode_uses_web_search_and_counts_calls(log_dir):
    script = [
        {"turn": 0, "reply": code("r = web_search('Seine river Paris')\nprint(r[:300])")},
        {"turn": 1, "reply": code("for q in ['Paris', 'France capital']:\n    web_search(q)\nfinal_answer('Seine')")},
    ]
    sample = run(script, agent(), question="Which river flows through Paris?", target="Seine", domain="factual",
                 log_dir=log_dir)
    assert "web_search" in sample.messages[0].text
    [obs] = observations(sample)
    assert "Execution logs:\n\nRetrieved documents:" in obs and len(obs) > 60  # passages came back
    assert sample.metadata["final_answer"] == "Seine"
    assert stats(sample)["web_search_calls"] == 3


def test_student_prompt_is_short_without_examples(log_dir):
    script = [{"reply": code("final_answer(42)")}]
    student = run(script, agent(prompt="student"), log_dir=log_dir)
    teacher = run(script, agent(prompt="teacher"), log_dir=log_dir)
    assert "Here are a few examples" not in student.messages[0].text
    assert "Here are a few examples" in teacher.messages[0].text
    assert len(student.messages[0].text) * 4 < len(teacher.messages[0].text)
    assert student.metadata["agent"]["prompt_chosen"] == "given"


def test_trained_adapter_gets_the_student_prompt_automatically(log_dir, tmp_path):
    from agentdistill.core.paths import TRAIN_INFO_FILE
    from agentdistill.solvers.agent.loop import is_distilled_student

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    plain = get_model("scripted/plain", script=[{"reply": "x"}])
    trained = get_model(f"scripted/{adapter}", script=[{"reply": "x"}])
    assert not is_distilled_student(plain) and not is_distilled_student(trained)
    (adapter / TRAIN_INFO_FILE).write_text("{}")
    assert is_distilled_student(trained)


def test_default_imports_follow_the_reference_allow_list(log_dir):
    script = [{"turn": 0, "reply": code("import os\nprint(1)")},
              {"turn": 1, "reply": code("import numpy as np\nimport sympy\nfinal_answer(int(np.int64(42)))")}]
    sample = run(script, agent(), log_dir=log_dir)
    [obs] = observations(sample)
    assert "InterpreterError: Import of os is not allowed. Authorized imports are: [" in obs
    assert sample.metadata["final_answer"] == "42"
    relaxed = run(script, agent(imports="any"), log_dir=log_dir)
    assert "not allowed" not in observations(relaxed)[0]
    assert relaxed.metadata["agent"]["options"] == {"imports": "any"}
    assert relaxed.metadata["agent"]["reproduction"] is False


def test_task_without_sandbox_gets_a_private_one(log_dir):
    # `inspect eval tasks/x --solver agent` replaces the solver of a task created without a sandbox
    script = [{"turn": 0, "reply": code("import os\nprint(os.getcwd(), 'HOME' in os.environ)")},
              {"turn": 1, "reply": code("final_answer(42)")}]
    sample = run(script, agent(imports="any"), sandbox=None, log_dir=log_dir)
    [obs] = observations(sample)
    assert os.getcwd() not in obs  # not the host's working directory
    assert sample.metadata["final_answer"] == "42"


# --- SAG --------------------------------------------------------------------------------------------------------


def sag_log(sample, step=0) -> dict:
    return sample.metadata["agent"]["steps"][step]


def test_sag_majority_choice_and_rejected_state_absent(log_dir):
    a = code("v = 'A'\nonly_a = True\nprint(v)", "Option A.")
    b1 = code("v = 'B'\nprint(v)", "Option B.")
    b2 = code("v = 'B'  # same observation, other text\nprint(v)", "B again.")
    script = [
        {"turn": 0, "reply": [a, a, b1, b2, b1]},
        {"turn": 1, "reply": code(defined("only_a") + "print(known)\nfinal_answer(v)")},
    ]
    sample = run(script, agent_sag(n=5), log_dir=log_dir)
    step = sag_log(sample)
    assert step["chosen"] == 2  # earliest member of the largest group
    assert step["votes"] == {"A\n": 2, "B\n": 3}  # the reference's key: what the candidate printed
    assert len(step["candidates"]) == 5 and all(c["valid"] for c in step["candidates"])
    assert sample.messages[2].text == b1
    assert step["committed"] is True and sample.metadata["final_answer"] == "B"  # the winner's state was committed
    final_step = sag_log(sample, 1)
    assert final_step["candidates"][0]["observation"] == (
        "Call id: call_2\nObservation:\nExecution logs:\nFalse\nLast output from code snippet:\nB")
    assert stats(sample)["sag_valid_candidates"] == 5


def test_sag_winner_is_not_run_twice(log_dir):
    script = [
        {"turn": 0, "reply": code("try:\n    counter += 1\nexcept NameError:\n    counter = 1\nprint('ok')")},
        {"turn": 1, "reply": code("final_answer(counter)")},
    ]
    sample = run(script, agent_sag(n=4), log_dir=log_dir)
    assert sample.metadata["final_answer"] == "1"


@pytest.mark.parametrize(("order", "winner"), [("AABB", 0), ("BABA", 0), ("ABBA", 0)])
def test_sag_tie_break_is_deterministic(log_dir, order, winner):
    options = {"A": code("print('A')", "A"), "B": code("print('B')", "B")}
    script = [{"turn": 0, "reply": [options[c] for c in order]}, {"turn": 1, "reply": code("final_answer(1)")}]
    sample = run(script, agent_sag(n=4), log_dir=log_dir)
    step = sag_log(sample)
    assert step["chosen"] == winner  # equal groups: the group whose first candidate came first
    assert sample.messages[2].text == options[order[winner]]


def test_sag_all_fail_keeps_candidate_zero(log_dir):
    failing = [
        code("z = 1\nprint(1 / 0)"),
        "Thought: no code here",
        code("z = 2\nraise ValueError('bad value')"),
        code("z = 3\nprint(undefined_name)"),
    ]
    script = [
        {"turn": 0, "reply": failing},
        {"turn": 1, "reply": code(defined("z") + "print(known)\nfinal_answer(known)")},
    ]
    first = run(script, agent_sag(n=4), log_dir=log_dir)
    step = sag_log(first)
    assert step["chosen"] == 0  # the reference keeps the first candidate
    assert not any(c["valid"] for c in step["candidates"]) and step["votes"] == {}
    kept = step["candidates"][0]
    assert observations(first)[0] == kept["observation"] and "ZeroDivisionError" in kept["observation"]
    s = stats(first)
    assert s["parse_errors"] + s["exec_errors"] == 1 and s["sag_valid_candidates"] == pytest.approx(4 / 2)
    # its state up to the error is kept, as re-running it in the reference's live interpreter left it
    assert first.metadata["final_answer"] == "True"


def test_sag_final_answers_all_tie_under_the_log_vote(log_dir):
    script = [{"turn": 0, "reply": [code("final_answer('7')"), code("final_answer(42)"), code("final_answer(42)")]}]
    sample = run(script, agent_sag(n=3), log_dir=log_dir)
    assert sag_log(sample)["chosen"] == 0 and sag_log(sample)["votes"] == {"": 3}  # nothing printed: one group
    assert sample.metadata["final_answer"] == "7"


def test_sag_vote_answer_option_votes_on_normalised_final_answer(log_dir):
    script = [
        {
            "turn": 0,
            "reply": [
                code("final_answer('7')"),
                code("final_answer('\\\\boxed{42}')"),
                code("final_answer(42.0)"),
                code("final_answer(' 42 ')"),
                code("final_answer('7')"),
            ],
        }
    ]
    sample = run(script, agent_sag(n=5, vote="answer"), log_dir=log_dir)
    step = sag_log(sample)
    assert step["chosen"] == 1
    assert sorted(step["votes"].values()) == [2, 3]
    assert sample.metadata["agent"]["options"] == {"n": 5, "vote": "answer"}  # everything off the reference
    assert sample.metadata["final_answer"] == "\\boxed{42}"
    assert stats(sample)["steps"] == 1


def test_sag_drops_parse_failures_and_errors_before_voting(log_dir):
    script = [
        {
            "turn": 0,
            "reply": ["no code", code("print(1/0)"), code("print(1/0)"), code("print('fine')"), "nope"],
        },
        {"turn": 1, "reply": code("final_answer(42)")},
    ]
    sample = run(script, agent_sag(n=5), log_dir=log_dir)
    step = sag_log(sample)
    assert step["chosen"] == 3 and list(step["votes"].values()) == [1]
    assert [c["valid"] for c in step["candidates"]] == [False, False, False, True, False]


def test_sag_cli_style_string_args(log_dir):
    script = [{"reply": [code("final_answer(42)"), code("final_answer(41)")]}]
    sample = run(script, agent_sag(n="3", temperature="0.6", max_steps="3"), log_dir=log_dir)
    assert len(sag_log(sample)["candidates"]) == 3 and sample.metadata["final_answer"] == "42"


# --- FTP --------------------------------------------------------------------------------------------------------


def test_ftp_prefix_opens_the_first_thought(log_dir):
    script = [
        # the CoT call (no Thought/Code instruction in it)
        {"match_any": "system:(?!.*Thought:)", "turn": 0,
         "reply": "Six sevens make forty-two.\nSo 42.\n\nThe answer is \\boxed{42}."},
        {"match_prefill": "Six sevens", "reply": " I check it in code.\nCode:\n```py\nfinal_answer(6 * 7)\n```"},
    ]
    sample = run(script, agent_ftp(), log_dir=log_dir)
    first = next(m for m in sample.messages if m.role == "assistant")
    assert first.text.startswith("Thought: Six sevens make forty-two.\nSo 42.\n\n I check it in code.\nCode:")
    assert "The answer is" not in first.text
    assert sample.metadata["agent"]["ftp_prefix"] == "Thought: Six sevens make forty-two.\nSo 42.\n\n"
    assert sample.metadata["final_answer"] == "42"


# --- hostile code ------------------------------------------------------------------------------------------------


def test_hostile_code_from_the_model(log_dir, monkeypatch):
    monkeypatch.setenv("AGENTDISTILL_SECRET_TEST_KEY", "sk-do-not-leak")
    hostile = [
        "import os\nprint(sorted(os.environ))\nprint(os.environ.get('AGENTDISTILL_SECRET_TEST_KEY'))",
        "print(open('/work/main/pyproject.toml').read()[:50])",
        "import socket\ns = socket.create_connection(('1.1.1.1', 80), timeout=2)",
        "import os\nos._exit(3)",
        "import sys\nsys.exit(1)",
    ]
    script = [{"turn": i, "reply": code(body, "probe")} for i, body in enumerate(hostile)]
    script.append({"turn": len(hostile), "reply": code("final_answer('survived')")})
    # imports="any": the sandbox itself must hold, whatever the allow-list lets through
    sample = run(script, agent(max_steps=len(hostile) + 1, imports="any"), log_dir=log_dir)
    obs = observations(sample)
    assert len(obs) == len(hostile)
    assert "sk-do-not-leak" not in "".join(obs)
    assert "AGENTDISTILL_SECRET_TEST_KEY" not in obs[0]
    assert "[build-system]" not in obs[1] and re.search(r"(?i)error", obs[1])
    assert re.search(r"(?i)error", obs[2])
    assert sample.metadata["final_answer"] == "survived"
    return obs


# --- the user's command --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["agent_sag", "agentdistill/agent_sag"])
def test_cli_command_with_solver_args(tmp_path, name):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from inspect_ai.log import list_eval_logs, read_eval_log

    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"turn": 0, "reply": code("print(web_search('{{sample_id}}')[:200])")},
        {"turn": 1, "reply": code("final_answer('{{target}}')")},
    ]))  # fmt: skip
    inspect = Path(sys.executable).with_name("inspect")
    cmd = [str(inspect), "eval", "tasks/hotpotqa", "--solver", name, "-S", "n=4", "-S", "temperature=0.6",
           "-S", "max_steps=3", "--model", "scripted/cli", "-M", f"script={script}", "--limit", "1",
           "--log-dir", str(tmp_path / "logs"), "--display", "none"]  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [info] = list_eval_logs(str(tmp_path / "logs"))
    log = read_eval_log(info)
    assert log.status == "success" and log.eval.solver_args == {"n": 4, "temperature": 0.6, "max_steps": 3}
    [sample] = log.samples
    assert len(sample.metadata["agent"]["steps"][0]["candidates"]) == 4
    assert sample.metadata["agentdistill_stats"]["web_search_calls"] == 1
    assert sample.scores["factual_scorer"].value["em"] == 1.0  # the scripted final answer is the gold


def test_refused_code_shows_the_print_outputs_left_from_the_last_run(log_dir):
    """The reference refused nested loops before running and its error turn showed the previous prints."""
    script = [{"turn": 0, "reply": code("print('hello')")},
              {"turn": 1, "reply": code("for i in range(2):\n    for j in range(2):\n        print(i, j)")},
              {"turn": 2, "reply": code("final_answer(42)")}]
    sample = run(script, agent(), log_dir=log_dir)
    assert observations(sample)[1] == (
        "Call id: call_2\nObservation:\nExecution logs:\nhello\nCall id: call_2\nError:\ntoo many for loops - not "
        "running the code to prevent out-of-memory error\nNow let's retry: take care not to repeat previous errors! "
        "If you have retried several times, try a completely different approach.\n")
    relaxed = run(script, agent(errors="traceback"), log_dir=log_dir)
    assert "0 0\n" in observations(relaxed)[1]  # CPython runs it


def test_reference_builtins_and_print(log_dir):
    """The reference's interpreter: math functions without an import, only its own builtins, print ignoring sep/end."""
    script = [{"turn": 0, "reply": code("print(sqrt(16), 'a', sep=',', end='')")},
              {"turn": 1, "reply": code("print(repr(3))")},
              {"turn": 2, "reply": code("final_answer(42)")}]
    sample = run(script, agent(), log_dir=log_dir)
    first, second = observations(sample)
    assert first == "Call id: call_1\nObservation:\nExecution logs:\n4.0 a\nLast output from code snippet:\nNone"
    assert "InterpreterError: It is not permitted to evaluate other functions than the provided tools or functions " \
           "defined/imported in previous code (tried to execute repr)." in second
    plain = run(script, agent(errors="traceback"), log_dir=log_dir)
    assert "NameError" in observations(plain)[0] and "Execution logs:\n3\n" in observations(plain)[1]  # CPython
