"""The paper's answer extraction and normalisation, written afresh from the reference's decisions.

The reference (`exps_research/unified_framework/math_utils/qwen_math_parser.py`, from Qwen2.5-Math) extracts a
math answer from a completion and normalises it (`strip_string`); every step below makes the same decision in the
same order, quirks included: unit words are removed as regular expressions (so `q .` matches any character and a
lone `a`, `c`, `s`, `t`... between non-word characters disappears), number words become digits through
`word2number`, `x=` is deleted anywhere, `j` becomes `i` when there is no `i`. Used only for `paper_accuracy`;
the project's own extraction is `extract.py`.
"""

from __future__ import annotations

import re

from word2number import w2n

# Unit texts (MathQA-derived) the reference deletes, in its order; each is used as a regular expression.
_UNIT_TEXTS_SINGULAR = [
    "east", "degree", "mph", "kmph", "ft", "m sqaure", " m east", "sq m", "deg", "mile", "q .", "monkey", "prime",
    "ratio", "profit of rs", "rd", "o", "gm", "p . m", "lb", "tile", "per", "dm", "lt", "gain", "ab", "way", "west",
    "a .", "b .", "c .", "d .", "e .", "f .", "g .", "h .", "t", "a", "h", "no change", "men", "soldier", "pie", "bc",
    "excess", "st", "inches", "noon", "percent", "by", "gal", "kmh", "c", "acre", "rise", "a . m", "th", "π r 2",
    "sq", "mark", "l", "toy", "coin", "sq . m", "gallon", "° f", "profit", "minw", "yr", "women", "feet", "am", "pm",
    "hr", "cu cm", "square", "v â € ™", "are", "rupee", "rounds", "cubic", "cc", "mtr", "s", "ohm", "number", "kmph",
    "day", "hour", "minute", "min", "second", "man", "woman", "sec", "cube", "mt", "sq inch", "mp", "∏ cm ³",
    "hectare", "more", "sec", "unit", "cu . m", "cm 2", "rs .", "rs", "kg", "g", "month", "km", "m", "cm", "mm",
    "apple", "liter", "loss", "yard", "pure", "year", "increase", "decrease", "d", "less", "Surface", "litre",
    "pi sq m", "s .", "metre", "meter", "inch",
]
UNIT_TEXTS = _UNIT_TEXTS_SINGULAR + [text + "s" for text in _UNIT_TEXTS_SINGULAR]
_UNIT_PATTERNS = [re.compile(r"(^|\W)" + text + r"($|\W)") for text in UNIT_TEXTS]


def _fix_fracs(text: str) -> str:
    r"""`\frac12` -> `\frac{1}{2}`, `\frac1{72}` -> `\frac{1}{72}`; a `\frac` with under two characters after it
    leaves the whole text unchanged."""
    head, *rest = text.split("\\frac")
    out = head
    for chunk in rest:
        out += "\\frac"
        if chunk.startswith("{"):
            out += chunk
            continue
        if len(chunk) < 2:
            return text
        first, second, tail = chunk[0], chunk[1], chunk[2:]
        out += "{" + first + "}" + (second + tail if second == "{" else "{" + second + "}" + tail)
    return out


def _fix_a_slash_b(text: str) -> str:
    """`3/4` -> `\\frac{3}{4}` only when both sides are plain integers written canonically."""
    parts = text.split("/")
    if len(parts) != 2:
        return text
    try:
        a = parts[0] if "sqrt" in parts[0] else int(parts[0])
        b = parts[1] if "sqrt" in parts[1] else int(parts[1])
    except ValueError:
        return text
    if text != f"{a}/{b}":
        return text
    return "\\frac{" + str(a) + "}{" + str(b) + "}"


def _word_number(text: str) -> str:
    try:
        return str(w2n.word_to_num(text))
    except Exception:
        return text


def paper_strip(text: str, skip_unit: bool = False) -> str:
    """The reference's `strip_string`: its normalised form of an answer."""
    s = str(text).strip().replace("\n", "").rstrip(".")
    s = s.replace("\\!", "")
    s = re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", s)
    s = re.sub(r"\\end\{array\}", r"\\end{pmatrix}", s).replace("bmatrix", "pmatrix")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    s = s.replace("\\left", "").replace("\\right", "").replace("\\{", "{").replace("\\}", "}")
    # a trailing \text{...} (from the first \text{ that reaches the end) is a unit, unless it is everything
    without = re.sub(r"\\text{.*?}$", "", s).strip()
    if without and without != s:
        s = without
    if not skip_unit:
        for _ in range(2):
            for pattern in _UNIT_PATTERNS:
                replaced = pattern.sub(r"\1\2", s)
                if replaced:
                    s = replaced
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "").replace("$", "").replace("\\(", "").replace("\\)", "")
    s = _word_number(s)
    s = re.sub(r"\\text\{(.*?)\}", r"\1", s)
    for key in ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to"):
        s = s.replace(key, "")
    s = s.replace("\\emptyset", "{}").replace("(-\\infty,\\infty)", "\\mathbb{R}")
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    s = s.replace("infinity", "\\infty")
    if "\\infty" not in s:
        s = s.replace("inf", "\\infty")
    s = s.replace("and", "").replace("\\mathbf", "")
    s = re.sub(r"\\mbox{.*?}", "", s)
    if "j" in s and "i" not in s:
        s = s.replace("j", "i")
    s = re.sub(r"(\d+)\.0*([^\d])", r"\1\2", s)
    s = re.sub(r"(\d+)\.0*$", r"\1", s)
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = re.sub(r"\\sqrt(\w+)", r"\\sqrt{\1}", s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    return _fix_a_slash_b(s)


def _braced_after(text: str, marker: str) -> str:
    """What follows the last `marker`: the brace group's content (to the end when unclosed), else up to a `$`."""
    tail = text.split(marker)[-1]
    if not tail:
        return ""
    if tail[0] != "{":
        return tail.split("$")[0].strip()
    depth, out = 1, []
    for char in tail[1:]:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                break
        out.append(char)
    return "".join(out)


def paper_extract_answer(completion: str) -> str:
    """The reference's `extract_answer(text, "math")`: the Minerva "final answer is $X$. I hope" form, else the last
    `boxed`, else the last `oxed` (a `\\b` eaten as a backspace), else text after "he answer is" / "final answer is",
    else the last number; then `paper_strip`."""
    s = completion.replace("\u043a\u0438", "")
    if "final answer is $" in s and "$. I hope" in s:
        pred = s.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
    elif "boxed" in s:
        pred = _braced_after(s, "boxed")
    elif "oxed" in s:
        pred = _braced_after(s, "oxed")
    elif "he answer is" in s:
        pred = s.split("he answer is")[-1].strip()
    elif "final answer is" in s:
        pred = s.split("final answer is")[-1].strip()
    elif "答案是" in s:
        pred = s.split("答案是")[1].strip().split("\n\n")[0].strip()
    else:
        numbers = re.findall(r"-?\d*\.?\d+", s.replace(",", ""))
        pred = numbers[-1] if numbers else ""
    pred = re.sub(r"\n\s*", "", pred)
    if pred.startswith(":"):
        pred = pred[1:]
    if pred.endswith("."):
        pred = pred[:-1]
    if pred.endswith("/"):
        pred = pred[:-1]
    return paper_strip(pred)
