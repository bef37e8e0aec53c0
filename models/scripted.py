"""`scripted/<name>`: a deterministic model for tests, driven by a script of rules.

Use it from the CLI (`--model scripted/demo -M script=path/to/script.json`) or from Python
(`get_model("scripted/demo", script=[...])`). It never touches the network and always reports
token usage (word-piece counts), so inspect needs no tokenizer download.

Script format
-------------
A script is a JSON/JSONL file path, a list of rules, or a dict
`{"rules": [...], "default": <reply>}`. A JSONL file holds one rule per line. A bare string
rule is shorthand for `{"reply": "<string>"}` (matches everything).

Each rule is a dict; the first rule whose conditions all hold answers the call:

- `match`: regex searched (re.DOTALL) in the text of the last user message.
- `match_system`: regex searched in the system message(s).
- `match_any`: regex searched in the whole conversation (`role: text` lines).
- `match_prefill`: regex searched in a trailing assistant message (prefill); a rule with this
  key only matches calls that end with an assistant message.
- `turn`: int or list of ints: how many assistant turns precede this call in the input (not
  counting a trailing prefill message). 0 is the first call of an episode.
- `domain`: the active sample's `metadata["domain"]` must equal this.

and one reply field:

- `reply`: a string (one choice) or a list of strings (candidates, see num_choices).
- `replies`: a list consumed in order, one element per call that this rule answers for the
  same sample (the last element repeats once the list is used up); each element is a
  string or a list of candidate strings.

`default` (top level) answers calls no rule matches; without it such a call raises a
`ValueError` naming the unmatched message.

Placeholders in replies: `{{target}}` (the active sample's first target), `{{sample_id}}`,
`{{last_user}}` (last user message text), `{{group1}}`... (groups of the `match` regex).

Generation settings honoured: `num_choices=n` returns n choices, taking the rule's candidate
list in order and cycling when it is shorter (a single reply is repeated n times); without
num_choices only the first candidate is returned. `stop_seqs` truncate a reply at the first
stop string (the stop string is not included, like OpenAI and vLLM). `max_tokens` truncates
to that many word-pieces. A call ending with an assistant message is a prefill: the reply is
the continuation only.

Every call is appended to `api.calls` (chosen rule index, turn, last user text, prefill, outputs,
the generate config) so tests can check what a solver asked for.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput
from inspect_ai.tool import ToolChoice, ToolInfo

from agentdistill.core.errors import InputError
from agentdistill.core.inspect_compat import active_sample
from agentdistill.models.apis import build_output

_PIECE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def count_pieces(text: str) -> int:
    """A deterministic, offline token count (words and punctuation marks)."""
    return len(_PIECE.findall(text))


def truncate_pieces(text: str, max_pieces: int) -> str:
    matches = list(_PIECE.finditer(text))
    if len(matches) <= max_pieces:
        return text
    return text[: matches[max_pieces - 1].end()] if max_pieces > 0 else ""


def truncate_at_stop(text: str, stop_seqs: list[str] | None) -> tuple[str, bool]:
    """Cut `text` at the earliest stop string; return (text, stopped)."""
    cut = None
    for stop in stop_seqs or []:
        if stop:
            pos = text.find(stop)
            if pos >= 0 and (cut is None or pos < cut):
                cut = pos
    return (text, False) if cut is None else (text[:cut], True)


def _parse_json(text: str, where: str, line_offset: int = 0) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as ex:
        raise InputError(f"{where}: line {ex.lineno + line_offset}: not valid JSON ({ex.msg})") from None


def load_script(script: Any) -> dict[str, Any]:
    """Normalise a script (path, JSON text, list or dict) into {"rules": [...], "default": ...}.

    Checked when the model is created, before any sample runs: a file that cannot be read, a line that is not JSON,
    a rule without a reply or with a regex that does not compile is refused naming the file, line or rule.
    """
    where = "scripted model script"
    if isinstance(script, (str, Path)):
        text = str(script)
        path = Path(text)
        if text.lstrip().startswith(("[", "{")) and not path.exists():
            script = _parse_json(text, where)
        else:
            if not path.exists():
                raise InputError(f"scripted model: script file not found: {path}")
            where = str(path)
            raw = path.read_text(encoding="utf-8")
            if path.suffix == ".jsonl":
                script = [_parse_json(line, where, n - 1) for n, line in enumerate(raw.splitlines(), 1) if line.strip()]
            else:
                script = _parse_json(raw, where)
    if isinstance(script, list):
        script = {"rules": script}
    if not isinstance(script, dict):
        raise InputError(f"{where}: a script must be a list or a dict, got {type(script).__name__}")
    rules = []
    for i, rule in enumerate(script.get("rules", [])):
        if isinstance(rule, str):
            rule = {"reply": rule}
        if not isinstance(rule, dict) or not ("reply" in rule or "replies" in rule):
            raise InputError(f"{where}: rule {i} needs a 'reply' or 'replies': {rule!r}")
        for key in ("match", "match_system", "match_any", "match_prefill"):
            if key in rule:
                try:
                    re.compile(rule[key], re.DOTALL)
                except (re.error, TypeError) as ex:
                    raise InputError(f"{where}: rule {i}: {key} {rule[key]!r} is not a valid regex ({ex})") from None
        rules.append(rule)
    return {"rules": rules, "default": script.get("default")}


def _as_candidates(reply: Any) -> list[str]:
    if isinstance(reply, str):
        return [reply]
    if isinstance(reply, list) and reply and all(isinstance(r, str) for r in reply):
        return list(reply)
    raise ValueError(f"scripted model: a reply must be a string or a non-empty list of strings: {reply!r}")


class ScriptedModelAPI(ModelAPI):
    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        script: Any = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if script is None:
            raise ValueError("scripted model needs a script: -M script=<file.json|file.jsonl> or script=[...]")
        self.script = load_script(script)
        self.calls: list[dict[str, Any]] = []
        self._consumed: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def max_tokens(self) -> int | None:
        return None

    def max_connections(self) -> int:
        return 32

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        active = active_sample()
        sample = active.sample if active is not None else None
        sample_key = active.id if active is not None else (_first_user(input) or "")
        target = ""
        if sample is not None:
            target = sample.target if isinstance(sample.target, str) else (sample.target[0] if sample.target else "")
        domain = (sample.metadata or {}).get("domain") if sample is not None else None

        prefill = input[-1].text if input and input[-1].role == "assistant" else None
        history = input[:-1] if prefill is not None else input
        turn = sum(1 for m in history if m.role == "assistant")
        last_user = next((m.text for m in reversed(history) if m.role == "user"), "")
        system = "\n".join(m.text for m in input if m.role == "system")
        transcript = "\n".join(f"{m.role}: {m.text}" for m in input)

        chosen, reply, groups = None, None, ()
        for index, rule in enumerate(self.script["rules"]):
            m = None
            if "match" in rule:
                m = re.search(rule["match"], last_user, re.DOTALL)
                if m is None:
                    continue
            if "match_system" in rule and not re.search(rule["match_system"], system, re.DOTALL):
                continue
            if "match_any" in rule and not re.search(rule["match_any"], transcript, re.DOTALL):
                continue
            if "match_prefill" in rule and (prefill is None or not re.search(rule["match_prefill"], prefill, re.DOTALL)):
                continue
            if "turn" in rule:
                turns = rule["turn"] if isinstance(rule["turn"], list) else [rule["turn"]]
                if turn not in turns:
                    continue
            if "domain" in rule and rule["domain"] != domain:
                continue
            chosen, groups = index, (m.groups() if m is not None else ())
            if "replies" in rule:
                with self._lock:
                    k = self._consumed.get((sample_key, index), 0)
                    self._consumed[(sample_key, index)] = k + 1
                replies = rule["replies"]
                reply = replies[min(k, len(replies) - 1)]
            else:
                reply = rule["reply"]
            break
        if chosen is None:
            if self.script["default"] is None:
                raise ValueError(f"scripted model: no rule matches the last user message {last_user[:200]!r}")
            reply = self.script["default"]

        candidates = _as_candidates(reply)
        n = config.num_choices or 1
        texts = [candidates[i % len(candidates)] for i in range(n)]

        def fill(text: str) -> str:
            text = text.replace("{{target}}", target).replace("{{last_user}}", last_user)
            text = text.replace("{{sample_id}}", str(sample.id) if sample is not None else "")
            for g, value in enumerate(groups, start=1):
                text = text.replace("{{group%d}}" % g, value or "")
            return text

        rows, out_tokens = [], 0
        for text in texts:
            text, _ = truncate_at_stop(fill(text), config.stop_seqs)
            stop_reason = "stop"
            if config.max_tokens is not None and count_pieces(text) > config.max_tokens:
                text, stop_reason = truncate_pieces(text, config.max_tokens), "max_tokens"
            out_tokens += count_pieces(text)
            rows.append((text, stop_reason))
        in_tokens = sum(count_pieces(m.text) for m in input)
        self.calls.append(
            {
                "rule": chosen,
                "turn": turn,
                "last_user": last_user,
                "prefill": prefill,
                "outputs": [t for t, _ in rows],
                "config": config.model_dump(exclude_none=True),
            }
        )
        return build_output(self.model_name, rows, in_tokens, out_tokens)


def _first_user(messages: list[ChatMessage]) -> str | None:
    return next((m.text for m in messages if m.role == "user"), None)
