"""Training chat templates: the model's own chat format plus `{% generation %}` markers.

TRL's `assistant_only_loss` trains exactly the characters a template wraps in
`{% generation %}...{% endgeneration %}`. Most released templates (SmolLM2's among them) have no
markers, so distillation supplies its own copy of each supported family, rendered token for token
like the original (checked by `check_template`), with the markers around each assistant turn's
content plus its end-of-turn token; every system / user / observation turn stays masked. ChatML
trains the turn as the paper's collator did for Qwen (its `DataCollatorForCompletionOnlyLMMultiTurn`:
everything after `<|im_start|>assistant` up to the next user turn): the newline after the role, the
content, `<|im_end|>` and the newline after it.

Families:
- `chatml`: `<|im_start|>role\\n...<|im_end|>\\n` (SmolLM2, Qwen2/2.5). The default system block the
  original injects when a conversation has none is measured from the original and reproduced.
- `llama3`: `<|start_header_id|>role<|end_header_id|>\\n\\n...<|eot_id|>` (Llama-3.0 and Llama-3.1/3.2:
  BOS and the system block, with 3.1/3.2's "Cutting Knowledge Date / Today Date" preamble, are measured
  from the original and reproduced; content trimmed as in the original).
Anything else: a template that already has markers is used as is; otherwise TRL's own training
templates (`trl.chat_template_utils.get_training_chat_template`: Phi-3/3.5, Gemma 3, ...)
are tried, and the choice is always verified by `check_template`.

The two families come before TRL's templates because TRL's match a released template by its exact text (SmolLM2's
and Llama-3.1/3.2's are not among them), while a family template measures each variant's system block from the
original. TRL's helpers are used where they fit: `has_generation_markers`, `get_training_chat_template` and
`is_chat_template_stop_token_trained` (the end-of-turn check).
"""

from __future__ import annotations

import json
from typing import Any

CHATML_TRAINING_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if loop.first and messages[0]['role'] != 'system' %}{{ DEFAULT_SYSTEM }}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant' }}"
    "{%- generation %}{{- '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endgeneration %}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# SYSTEM_PRE / SYSTEM_POST / NO_SYSTEM are measured from the original (`_llama3_system_block`): Llama-3.0
# renders BOS + a plain system turn; Llama-3.1/3.2 always open with a system turn carrying "Cutting Knowledge
# Date ... Today Date ..." before the system message (the date is the one the original renders today).
LLAMA3_TRAINING_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- SYSTEM_PRE }}{{- messages[0]['content'] | trim }}{{- SYSTEM_POST }}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}{{- NO_SYSTEM }}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{%- generation %}{{- message['content'] | trim }}{{- '<|eot_id|>' }}{%- endgeneration %}"
    "{%- else %}"
    "{{- message['content'] | trim }}{{- '<|eot_id|>' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)

# The original Meta-Llama-3-8B-Instruct template (no markers): what `llama3` reproduces. Tests
# build a tokenizer with it.
LLAMA3_ORIGINAL_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# A short conversation of every role, used to compare a training template with the original.
PROBE_MESSAGES: list[dict[str, str]] = [
    {"role": "system", "content": "You are a probe."},
    {"role": "user", "content": "Question: what is 2+3?"},
    {"role": "assistant", "content": "Thought: add.\nCode:\n```py\nprint(2+3)\n```<end_code>"},
    {"role": "user", "content": "Observation: 5"},
    {"role": "assistant", "content": "Thought: done.\nCode:\n```py\nfinal_answer(5)\n```<end_code>"},
]


class TemplateError(ValueError):
    """No training template reproduces this tokenizer's chat format."""


def detect_family(template: str | None) -> str | None:
    """The template family of an original chat template, by its role markers."""
    if not template:
        return None
    if "<|im_start|>" in template and "<|im_end|>" in template:
        return "chatml"
    if "<|start_header_id|>" in template and "<|eot_id|>" in template:
        return "llama3"
    return None


def _render(tokenizer: Any, messages: list[dict[str, str]], template: str, **kwargs: Any) -> str:
    return tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False, **kwargs)


def _chatml_default_system(tokenizer: Any, original: str) -> str:
    """What the original ChatML template emits before the first turn when there is no system message."""
    text = _render(tokenizer, [{"role": "user", "content": "x"}], original)
    start = text.find("<|im_start|>user\n")
    return text[:start] if start > 0 else ""


def _own_family_template(tokenizer: Any, family: str, original: str) -> str:
    if family == "chatml":
        default = _chatml_default_system(tokenizer, original)
        return CHATML_TRAINING_TEMPLATE.replace("DEFAULT_SYSTEM", json.dumps(default))
    pre, post, none = _llama3_system_block(tokenizer, original)
    return (
        LLAMA3_TRAINING_TEMPLATE.replace("SYSTEM_PRE", json.dumps(pre))
        .replace("SYSTEM_POST", json.dumps(post))
        .replace("NO_SYSTEM", json.dumps(none))
    )


def _trl_template(tokenizer: Any, original: str) -> str:
    from trl.chat_template_utils import get_training_chat_template

    saved = tokenizer.chat_template
    tokenizer.chat_template = original
    try:
        return get_training_chat_template(tokenizer) or original
    except Exception as exc:  # unsupported by TRL too
        raise TemplateError(f"no training template for this chat format: {exc}") from exc
    finally:
        tokenizer.chat_template = saved


def training_template(tokenizer: Any, original: str | None = None) -> tuple[str, str]:
    """(family, template with generation markers) for `tokenizer`'s chat format; verified.

    `original` defaults to the tokenizer's own chat template. Tries, in order: the original when it
    already has markers, our family template (`chatml`, `llama3`), TRL's training templates; the
    first that passes `check_template` wins. Raises TemplateError when none does.
    """
    from trl.chat_template_utils import has_generation_markers

    original = original if original is not None else tokenizer.chat_template
    if not original:
        raise TemplateError("the tokenizer has no chat template; pass one (--chat_template_path FILE.jinja)")
    if has_generation_markers(original):
        check_template(tokenizer, original, original)
        return "own", original
    errors = []
    family = detect_family(original)
    if family is not None:
        try:
            template = _own_family_template(tokenizer, family, original)
            check_template(tokenizer, template, original)
            return family, template
        except TemplateError as exc:
            errors.append(f"{family}: {exc}")
    try:
        template = _trl_template(tokenizer, original)
        check_template(tokenizer, template, original)
        return "trl", template
    except TemplateError as exc:
        errors.append(f"trl: {exc}")
    raise TemplateError("no training template reproduces this chat format:\n" + "\n".join(errors))


def _llama3_system_block(tokenizer: Any, original: str) -> tuple[str, str, str]:
    """(text before the system content, text after it, text when there is no system message), up to the first user turn."""
    marker, user = "@@SYSTEM@@", "<|start_header_id|>user<|end_header_id|>"
    with_system = _render(tokenizer, [{"role": "system", "content": marker}, {"role": "user", "content": "x"}], original)
    without = _render(tokenizer, [{"role": "user", "content": "x"}], original)
    head = with_system[: with_system.find(user)]
    if marker not in head or user not in without:
        raise TemplateError("not a Llama-3 style template")
    pre, post = head.split(marker, 1)
    return pre, post, without[: without.find(user)]


def check_template(
    tokenizer: Any, template: str, original: str, messages: list[dict[str, str]] | None = None
) -> None:
    """Raise TemplateError unless `template` renders like `original` and trains assistant turns + end token
    (the end token by TRL's own check, `is_chat_template_stop_token_trained`)."""
    from trl.chat_template_utils import is_chat_template_stop_token_trained

    probes = [messages] if messages else []
    probes += [PROBE_MESSAGES, PROBE_MESSAGES[1:]]
    for probe in probes:
        for gen in (False, True):
            conv = probe[:-1] if gen else probe
            ours = _render(tokenizer, conv, template, add_generation_prompt=gen)
            theirs = _render(tokenizer, conv, original, add_generation_prompt=gen)
            if ours != theirs:
                raise TemplateError(
                    f"training template renders differently from the model's own:\n{ours!r}\n!=\n{theirs!r}"
                )
    spans = assistant_spans(tokenizer, PROBE_MESSAGES, template)
    expected = [m["content"].strip() for m in PROBE_MESSAGES if m["role"] == "assistant"]
    if len(spans) != len(expected) or any(e not in s for s, e in zip(spans, expected)):
        raise TemplateError(f"generation markers do not cover the assistant turns: {spans!r}")
    if not is_chat_template_stop_token_trained(tokenizer, chat_template=template):
        raise TemplateError(f"the end-of-turn token is not trained: {spans!r}")


def tokenize_messages(tokenizer: Any, messages: list[dict[str, str]], template: str) -> dict[str, list[int]]:
    """input_ids and assistant_masks as TRL's SFTTrainer computes them (assistant_only_loss=True)."""
    out = tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    return {"input_ids": list(out["input_ids"]), "assistant_masks": list(out["assistant_masks"])}


def masked_spans(tokenizer: Any, input_ids: list[int], mask: list[int]) -> list[str]:
    """Decode each maximal run of trained (mask 1 / label != -100) tokens."""
    spans, run = [], []
    for tok, m in zip(input_ids, mask):
        if m:
            run.append(tok)
        elif run:
            spans.append(tokenizer.decode(run))
            run = []
    if run:
        spans.append(tokenizer.decode(run))
    return spans


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]], template: str) -> list[str]:
    enc = tokenize_messages(tokenizer, messages, template)
    return masked_spans(tokenizer, enc["input_ids"], enc["assistant_masks"])
