"""Writes tests/data/math_pairs.jsonl: labelled (prediction, gold) pairs on the benchmarks' real golds.

    .venv/bin/python tests/tools/build_math_pairs.py

Every gold is looked up by its exact text in tasks/<task>/data/<task>.jsonl (the script stops when one is missing),
so the pairs always hold real golds. Labels are decided by hand, one reason each: mathematically equal answers in
the form the question asks for are True; a different value, a missing or extra element, a wrong order of an
ordered answer, a wrong interval end, or a value in the wrong base or unit system is False. Rows whose label
follows a documented policy choice rather than plain mathematics say "policy:" in the reason (tasks/README.md,
"Math grading policy"). Rows with `"completion": true` hold a whole model output: graders extract first.
The generated families at the end apply one fixed, hand-checked rule per family (n against n, n+1, ...).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "math_pairs.jsonl"
TASKS = ("math500", "gsm_hard", "aime", "olymmath", "math_train")
_PREFIX = {"math_1000_20250414.json": "hard-", "math_medium_1000_20250430.json": "medium-"}

T, F = True, False

# (kind, task, exact gold text, [(prediction, label, reason), ...])
HAND: list[tuple[str, str, str, list[tuple[str, bool, str]]]] = [
    # ------------------------------------------------------------------ mixed numbers
    ("mixed_number", "math500", "1\\frac{4}{5}", [
        ("\\frac{9}{5}", T, "1 4/5 = 9/5"), ("1.8", T, "1 4/5 = 1.8 exactly"), ("9/5", T, "same value"),
        ("\\frac{4}{5}", F, "whole part dropped"), ("1.5", F, "different value")]),
    ("mixed_number", "math500", "137 \\frac{1}{2}", [
        ("137.5", T, "137 1/2 = 137.5"), ("\\frac{275}{2}", T, "improper form"), ("137\\frac12", T, "shorthand frac"),
        ("68.5", F, "137 x 1/2, a product, not the mixed number"), ("138", F, "rounded to an integer")]),
    ("mixed_number", "math_train", "2\\frac{1}{2}", [
        ("2.5", T, "2 1/2 = 2.5"), ("\\frac{5}{2}", T, "improper form"), ("5/2", T, "slash form"),
        ("1", F, "2 x 1/2, a product")]),
    ("mixed_number", "math_train", "1\\frac{2}{3}", [
        ("\\frac{5}{3}", T, "1 2/3 = 5/3"), ("1 2/3", T, "plain-text mixed number"),
        ("\\frac{2}{3}", F, "whole part dropped"), ("1\\frac{1}{3}", F, "different fraction")]),
    ("mixed_number", "math_train", "10\\frac{1}{12}", [
        ("\\frac{121}{12}", T, "10 1/12 = 121/12"), ("10 1/12", T, "plain-text mixed number"),
        ("\\frac{10}{12}", F, "product reading"), ("10.08", F, "policy: a 2-place rounding of 121/12 is off by more than 1e-4")]),
    ("mixed_number", "math_train", "6\\frac{1}{6}\\text{ feet}", [
        ("\\frac{37}{6}", T, "6 1/6 = 37/6, unit dropped"), ("6\\frac{1}{6}", T, "same without unit"),
        ("37/6 feet", T, "same with unit words"), ("6.1", F, "different value"), ("\\frac{1}{6}", F, "whole part dropped")]),
    ("mixed_number", "math_train", "2\\frac{1}{4}", [
        ("2.25", T, "2 1/4 = 2.25"), ("\\frac{9}{4}", T, "improper form"), ("\\frac{1}{2}", F, "2 x 1/4, a product"),
        ("2.4", F, "different value")]),
    ("mixed_number", "olymmath", "\\frac{18}{5}", [
        ("3\\frac{3}{5}", T, "mixed-number prediction of 18/5"), ("3.6", T, "exact decimal"),
        ("3\\frac{2}{5}", F, "17/5")]),
    # ------------------------------------------------------------------ thousands separators
    ("thousands_separator", "math500", "10,\\!080", [
        ("10080", T, "separator dropped"), ("10,080", T, "plain comma separator"), ("10{,}080", T, "braced comma"),
        ("10\\,080", T, "thin-space separator"), ("10081", F, "off by one"), ("1008", F, "digit dropped"),
        ("10,800", F, "digits swapped")]),
    ("thousands_separator", "math500", "58,500", [
        ("58500", T, "separator dropped"), ("58,\\!500", T, "LaTeX separator"), ("585", F, "different value")]),
    ("thousands_separator", "math_train", "95,\\!040", [
        ("95040", T, "separator dropped"), ("95,040", T, "plain comma"), ("95,041", F, "off by one")]),
    ("thousands_separator", "math_train", "11,\\!090", [
        ("11090", T, "separator dropped"), ("11,900", F, "different value")]),
    ("thousands_separator", "math_train", "20,\\!000,\\!000", [
        ("20000000", T, "separators dropped"), ("2\\times 10^7", T, "scientific form"),
        ("2 \\cdot 10^{7}", T, "scientific form with cdot"), ("20,000", F, "different value"),
        ("200000000", F, "ten times too big")]),
    ("thousands_separator", "math_train", "22,500", [("22500", T, "separator dropped"), ("2250", F, "ten times too small")]),
    ("thousands_separator", "math_train", "10,\\!000", [
        ("10000", T, "separator dropped"), ("10^4", T, "power form"), ("1000", F, "different value")]),
    ("thousands_separator", "math_train", "30,951", [("30951", T, "separator dropped"), ("30,952", F, "off by one")]),
    ("thousands_separator", "math_train", "12,\\!650", [("12650", T, "separator dropped"), ("12,560", F, "digits swapped")]),
    ("thousands_separator", "math_train", "32,\\!000,\\!000", [
        ("32000000", T, "separators dropped"), ("3.2 \\times 10^{7}", T, "scientific form"), ("32000", F, "different value")]),
    ("thousands_separator", "math_train", "300,\\!000", [
        ("300000", T, "separator dropped"), ("3\\cdot 10^5", T, "scientific form"), ("30000", F, "different value")]),
    ("thousands_separator", "math_train", "98,634", [("98634", T, "separator dropped"), ("98,643", F, "digits swapped")]),
    ("thousands_separator", "math_train", "45,\\!045", [("45045", T, "separator dropped"), ("45,054", F, "digits swapped")]),
    ("thousands_separator", "math_train", "4,\\!320", [("4320", T, "separator dropped"), ("4,230", F, "digits swapped")]),
    ("thousands_separator", "math_train", "40,\\!320", [
        ("40320", T, "separator dropped"), ("8!", T, "8! = 40320"), ("40320.5", F, "not an integer")]),
    ("thousands_separator", "math500", "11,\\! 111,\\! 111,\\! 100", [
        ("11111111100", T, "separators dropped"), ("11,111,111,100", T, "plain commas"),
        ("11111111110", F, "different value")]),
    # ------------------------------------------------------------------ currency
    ("currency", "math500", "\\$32,\\!348", [
        ("32348", T, "dollar sign and separator dropped"), ("\\$32,348", T, "plain comma"),
        ("32,348 dollars", T, "unit word"), ("\\$32,348.00", T, "cents written"), ("32347", F, "off by one"),
        ("32,347", F, "off by one with separator"), ("\\$32,350", F, "rounded")]),
    ("currency", "math_train", "\\$1,\\!657", [
        ("1657", T, "sign and separator dropped"), ("\\$1,657.00", T, "cents written"), ("1,675", F, "digits swapped")]),
    ("currency", "math_train", "4319 \\text{ dollars}", [
        ("4319", T, "unit dropped"), ("\\$4319", T, "dollar sign"), ("4,319", T, "separator"), ("4391", F, "digits swapped")]),
    ("currency", "math_train", "382 \\text{ dollars}", [
        ("\\$382", T, "dollar sign"), ("382.00", T, "cents written"), ("283", F, "digits swapped")]),
    ("currency", "math_train", "1.85\\ \\text{USD}", [
        ("1.85", T, "unit dropped"), ("\\$1.85", T, "dollar sign"), ("1.58", F, "digits swapped"),
        ("185", F, "a bare number a hundred times the gold")]),
    ("currency", "math500", "5.4 \\text{ cents}", [
        ("5.4", T, "unit dropped"), ("54", F, "ten times the gold"), ("0.054", F, "a bare number in another unit")]),
    # ------------------------------------------------------------------ integers against float golds (GSM-Hard)
    ("integer_tolerance", "gsm_hard", "13138980.0", [
        ("13138980", T, "the integer of the float gold"), ("13,138,980", T, "separators"), ("13138980.00", T, "decimals"),
        ("1.313898 \\times 10^{7}", T, "scientific form, same integer"), ("13140000", F, "rounded: a different integer"),
        ("13138981", F, "off by one"), ("13138979", F, "off by one"), ("13138980.4", F, "not the integer")]),
    ("integer_tolerance", "gsm_hard", "-7020321.0", [
        ("-7020321", T, "the integer"), ("-7,020,321", T, "separators"), ("7020321", F, "sign lost"),
        ("-7020320", F, "off by one")]),
    ("integer_tolerance", "gsm_hard", "-84732404.0", [("-84732404", T, "the integer"), ("-84732400", F, "rounded")]),
    # ------------------------------------------------------------------ non-integer float golds (GSM-Hard)
    ("float_gold", "gsm_hard", "561161.7000000001", [
        ("561161.7", T, "the float gold without its binary artefact"), ("561161.70", T, "trailing zero"),
        ("561162", F, "rounded to an integer"), ("561161", F, "truncated"), ("561161.8", F, "different value")]),
    ("float_gold", "gsm_hard", "5031.9785714286", [
        ("5031.98", T, "correct 2-place rounding"), ("5031.978571", T, "correct 6-place rounding"),
        ("5032", F, "rounded to an integer"), ("5031.97", F, "truncated, not the rounding")]),
    ("float_gold", "gsm_hard", "1345.567", [
        ("1345.567", T, "same"), ("1345.57", T, "correct 2-place rounding"), ("1345.566", F, "different value"),
        ("1346", F, "rounded to an integer")]),
    ("float_gold", "gsm_hard", "4.46752e-05", [
        ("0.0000446752", T, "positional form"), ("4.46752 \\times 10^{-5}", T, "LaTeX scientific form"),
        ("4.46752e-5", T, "same exponent"), ("0.0000446", F, "too few digits: off by 0.2%"), ("4.46752", F, "exponent lost")]),
    ("float_gold", "gsm_hard", "1.69726e-05", [
        ("0.0000169726", T, "positional form"), ("1.69726", F, "exponent lost")]),
    ("float_gold", "gsm_hard", "39.9999834113", [
        ("39.9999834113", T, "same"), ("39.99998", T, "correct 5-place rounding"), ("40", F, "an integer for a non-integer"),
        ("39.9999", F, "not the correct 4-place rounding (40.0000)")]),
    ("float_gold", "gsm_hard", "51196733.33333333", [
        ("51196733.33", T, "correct 2-place rounding"), ("\\frac{153590200}{3}", T, "the exact value"),
        ("51196733", F, "integer part only"), ("51196734.33", F, "off by one")]),
    ("float_gold", "gsm_hard", "19023741.599999998", [
        ("19023741.6", T, "float artefact removed"), ("19023742", F, "rounded to an integer"),
        ("19023741.5", F, "different value")]),
    ("float_gold", "gsm_hard", "852828.6363636367", [
        ("852828.64", T, "correct 2-place rounding"), ("852828.6363636364", T, "float artefact"),
        ("852829", F, "rounded to an integer")]),
    ("float_gold", "gsm_hard", "183931.4666666667", [
        ("183931.47", T, "correct 2-place rounding"), ("\\frac{2758972}{15}", T, "the exact value"),
        ("183931.46", F, "truncated, not the rounding")]),
    ("float_gold", "gsm_hard", "2248868.16", [
        ("2,248,868.16", T, "separators"), ("2248868.2", T, "policy: correct 1-place rounding within 1e-4"), ("2248868", F, "integer part only")]),
    ("float_gold", "gsm_hard", "4561195.2", [
        ("4561195.20", T, "trailing zero"), ("4561195", F, "integer part only"), ("4561195.3", F, "different value")]),
    ("float_gold", "gsm_hard", "1509980.5", [
        ("1509980.50", T, "trailing zero"), ("1509981", F, "rounded to an integer"), ("1509980", F, "integer part only")]),
    ("float_gold", "gsm_hard", "342250.2857142857", [
        ("342250.29", T, "correct 2-place rounding"), ("\\frac{2395752}{7}", T, "the exact value"),
        ("342250.28", F, "truncated, not the rounding"), ("342250", F, "integer part only")]),
    # ------------------------------------------------------------------ percent
    ("percent", "math_train", "237.5\\%", [
        ("237.5", T, "percent sign dropped"), ("237.5\\%", T, "same"), ("2.375", T, "policy: 237.5% as a fraction"),
        ("237.5 percent", T, "unit word"), ("23750", F, "x100 without a percent sign"), ("237", F, "truncated")]),
    ("percent", "math_train", "73\\%", [
        ("73", T, "sign dropped"), ("0.73", T, "policy: 73% as a fraction"), ("73 \\%", T, "spaced sign"),
        ("7300", F, "x100 without a sign"), ("37\\%", F, "digits swapped")]),
    ("percent", "math_train", "178\\%", [
        ("178", T, "sign dropped"), ("1.78", T, "policy: 178% as a fraction"), ("78\\%", F, "different value")]),
    ("percent", "math_train", "10\\%", [
        ("10", T, "sign dropped"), ("0.1", T, "policy: 10% as a fraction"), ("1000", F, "x100 without a sign"),
        ("1", F, "different value")]),
    ("percent", "math_train", "52\\%", [
        ("52", T, "sign dropped"), ("\\frac{13}{25}", T, "policy: 52% as a fraction"), ("5200", F, "x100 without a sign"),
        ("48\\%", F, "complement")]),
    ("percent", "math_train", "8\\%", [
        ("8", T, "sign dropped"), ("0.08", T, "policy: 8% as a fraction"), ("800", F, "x100 without a sign"),
        ("0.8", F, "80%")]),
    ("percent", "math_train", "83\\%", [("83 percent", T, "unit word"), ("83", T, "sign dropped"), ("17\\%", F, "complement")]),
    ("percent", "olymmath", "78", [
        ("0.78", F, "x/100 of an integer gold, no percent sign anywhere"), ("7800", F, "x100 of an integer gold")]),
    ("percent", "aime", "116", [("1.16", F, "x/100 of an integer gold"), ("11600", F, "x100 of an integer gold")]),
    # ------------------------------------------------------------------ intervals and inequalities
    ("interval_inequality", "math500", "(3,4]", [
        ("3 < x \\le 4", T, "the interval as an inequality"), ("3<x\\leq 4", T, "leq spelling"),
        ("x \\in (3,4]", T, "membership form"), ("(3,4)", F, "right end open"), ("[3,4]", F, "left end closed"),
        ("3 \\le x \\le 4", F, "left end closed")]),
    ("interval_inequality", "math500", "(2,\\infty)", [
        ("x > 2", T, "inequality"), ("2 < x", T, "reversed inequality"), ("(2, \\infty)", T, "spacing"),
        ("[2,\\infty)", F, "closed end"), ("x \\ge 2", F, "closed end")]),
    ("interval_inequality", "math500", "(-\\infty, 0]", [
        ("x \\le 0", T, "inequality"), ("(-\\infty,0)", F, "open end"), ("x<0", F, "strict inequality")]),
    ("interval_inequality", "math500", "(5,\\infty)", [
        ("x>5", T, "inequality"), ("(-\\infty,5)", F, "other side")]),
    ("interval_inequality", "math500", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", [
        ("(0.6, 8/3]", T, "3/5 = 0.6"), ("\\frac{3}{5} < x \\le \\frac{8}{3}", T, "inequality"),
        ("(\\frac35,\\frac83)", F, "right end open"), ("(0.6, 2.67]", F, "2.67 is not 8/3")]),
    ("interval_inequality", "math500", "(-\\sqrt{3}, \\sqrt{3})", [
        ("-\\sqrt{3} < x < \\sqrt{3}", T, "inequality"), ("[-\\sqrt3,\\sqrt3]", F, "closed ends"),
        ("(-3, 3)", F, "different ends")]),
    ("interval_inequality", "math500", "x \\in [-2,7]", [
        ("[-2,7]", T, "interval without x"), ("-2 \\le x \\le 7", T, "inequality"), ("(-2,7)", F, "open ends"),
        ("[-2, 7)", F, "right end open")]),
    ("interval_inequality", "olymmath", "\\left[ -\\frac{1}{8}, \\frac{1}{8} \\right]", [
        ("[-0.125, 0.125]", T, "exact decimals"), ("-\\frac{1}{8} \\le x \\le \\frac18", T, "inequality"),
        ("(-\\frac18,\\frac18)", F, "open ends")]),
    ("interval_inequality", "olymmath", "[3,193-132\\sqrt{2}]", [
        ("[3, 193 - 132\\sqrt2]", T, "spacing and shorthand sqrt"), ("[3,193+132\\sqrt{2}]", F, "sign of the radical")]),
    ("interval_inequality", "math500", "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", [
        ("[\\pi^2/8, 5\\pi^2/4]", T, "slash fractions"), ("\\left[\\frac{\\pi^2}{8}, \\frac{5\\pi^2}{8}\\right]", F,
                                                            "wrong right end")]),
    # ------------------------------------------------------------------ unions
    ("union", "math_train", "(-\\infty,-8]\\cup [8,\\infty)", [
        ("x \\le -8 \\text{ or } x \\ge 8", T, "inequalities joined by or"),
        ("[8,\\infty)\\cup(-\\infty,-8]", T, "union in the other order"), ("(-\\infty,-8)\\cup(8,\\infty)", F, "open ends"),
        ("[-8,8]", F, "the complement")]),
    ("union", "math500", "(-\\infty, 2) \\cup (3, \\infty)", [
        ("x<2 \\text{ or } x>3", T, "inequalities joined by or"), ("(3,\\infty) \\cup (-\\infty,2)", T, "other order"),
        ("(2,3)", F, "the complement"), ("(-\\infty,2]\\cup[3,\\infty)", F, "closed ends")]),
    ("union", "math500", "(0,9) \\cup (9,36)", [("(9,36)\\cup(0,9)", T, "other order"), ("(0,36)", F, "9 included")]),
    ("union", "math500", "(2,12) \\cup (12,102)", [("(12,102)\\cup(2,12)", T, "other order"), ("(2,102)", F, "12 included")]),
    ("union", "math_train", "[3, 4) \\cup \\left(4, \\frac{64}{11}\\right]", [
        ("[3,4)\\cup(4,64/11]", T, "slash fraction"), ("[3,\\frac{64}{11}]", F, "4 included")]),
    ("union", "math_train", "\\left( -\\infty, -\\frac{7}{4} \\right) \\cup \\left( -\\frac{3}{2}, \\infty \\right)", [
        ("x<-\\frac74 \\text{ or } x>-\\frac32", T, "inequalities"), ("(-\\infty,-1.75)\\cup(-1.5,\\infty)", T,
                                                                          "exact decimals"),
        ("(-\\frac74,-\\frac32)", F, "the complement")]),
    ("union", "math_train", "[-1,0) \\cup (0,1]", [("(0,1]\\cup[-1,0)", T, "other order"), ("[-1,1]", F, "0 included")]),
    ("union", "math_train", "(-1, 1) \\cup [3, \\infty)", [
        ("[3,\\infty)\\cup(-1,1)", T, "other order"), ("(-1,1)\\cup(3,\\infty)", F, "3 excluded")]),
    ("union", "math_train", "(-\\infty,1) \\cup (2,3) \\cup (4,5) \\cup (6,\\infty)", [
        ("(6,\\infty)\\cup(4,5)\\cup(2,3)\\cup(-\\infty,1)", T, "reversed order"),
        ("(-\\infty,1) \\cup (2,3) \\cup (4,6) \\cup (6,\\infty)", F, "wrong end")]),
    ("union", "math_train", "(-\\infty,-4)\\cup(-4, -2)\\cup(-2,\\infty)", [
        ("(-2,\\infty)\\cup(-\\infty,-4)\\cup(-4,-2)", T, "other order"), ("(-\\infty,-2)\\cup(-2,\\infty)", F, "-4 included")]),
    ("union", "math_train", "(-\\infty,2) \\cup (2,\\infty)", [
        ("(2,\\infty)\\cup(-\\infty,2)", T, "other order"), ("(-\\infty,\\infty)", F, "2 included")]),
    # ------------------------------------------------------------------ sets and solution lists
    ("set_unordered", "math500", "1,-2", [
        ("-2,1", T, "other order"), ("\\{1,-2\\}", T, "set braces"), ("x=1, x=-2", T, "each solution as x="),
        ("1", F, "a solution missing"), ("1,2", F, "wrong sign"), ("1,-2,3", F, "extra solution")]),
    ("set_unordered", "math500", "3, 5, 7", [
        ("7,5,3", T, "other order"), ("\\{3,5,7\\}", T, "set braces"), ("3,5", F, "element missing")]),
    ("set_unordered", "math500", "-2,1", [("1, -2", T, "other order"), ("-2", F, "element missing")]),
    ("set_unordered", "math_train", "1,2,10", [("10, 2, 1", T, "other order"), ("1,2,11", F, "wrong element")]),
    ("set_unordered", "math_train", "0,-3", [("-3, 0", T, "other order"), ("0, 3", F, "wrong sign")]),
    ("set_unordered", "math_train", "5,\\,-11", [("-11,5", T, "other order"), ("5,11", F, "wrong sign")]),
    ("set_unordered", "math_train", "-1, 8", [("8, -1", T, "other order"), ("-1", F, "element missing")]),
    ("set_unordered", "math_train", "23,-17", [("-17, 23", T, "other order"), ("23, 17", F, "wrong sign")]),
    ("set_unordered", "math_train", "\\{4,5,7\\}", [
        ("4,5,7", T, "without braces"), ("\\{7,5,4\\}", T, "other order"), ("\\{4,5\\}", F, "element missing"),
        ("4,5,6", F, "wrong element")]),
    ("set_unordered", "math_train", "D, E", [("E, D", T, "other order"), ("D", F, "choice missing")]),
    ("set_unordered", "math_train", "45^\\circ, 135^\\circ, 225^\\circ, 315^\\circ", [
        ("45,135,225,315", T, "degree marks dropped"), ("315^\\circ, 225^\\circ, 135^\\circ, 45^\\circ", T, "other order"),
        ("45^\\circ, 135^\\circ", F, "two angles missing")]),
    ("set_unordered", "math_train", "1,3", [("3, 1", T, "other order"), ("1,3,5", F, "extra element")]),
    # ------------------------------------------------------------------ \pm against listed roots
    ("pm_roots", "math500", "1 \\pm \\sqrt{19}", [
        ("1+\\sqrt{19}, 1-\\sqrt{19}", T, "both roots listed"), ("1-\\sqrt{19},1+\\sqrt{19}", T, "other order"),
        ("1+\\sqrt{19}", F, "one root only"), ("-1 \\pm \\sqrt{19}", F, "wrong centre")]),
    ("pm_roots", "math500", "3 \\pm 2 \\sqrt{2}", [
        ("3+2\\sqrt2, 3-2\\sqrt2", T, "both roots"), ("3 \\pm \\sqrt{8}", T, "2 sqrt 2 = sqrt 8"),
        ("3+2\\sqrt{2}", F, "one root only"), ("3 \\pm \\sqrt{2}", F, "wrong radical")]),
    ("pm_roots", "math500", "\\{1\\pm\\sqrt{5},-2\\}", [
        ("-2, 1+\\sqrt5, 1-\\sqrt5", T, "all three listed"), ("1\\pm\\sqrt{5}, -2", T, "without braces"),
        ("1+\\sqrt{5}, -2", F, "a root missing"), ("1 \\pm \\sqrt{5}", F, "-2 missing")]),
    # ------------------------------------------------------------------ base subscripts
    ("base_subscript", "math500", "52_8", [
        ("52_{8}", T, "braced subscript"), ("52", T, "policy: digits right, base given by the question"),
        ("42", F, "the value in base 10"), ("53_8", F, "different digits")]),
    ("base_subscript", "math500", "40_9", [("40_{9}", T, "braced subscript"), ("36", F, "base-10 value")]),
    ("base_subscript", "math500", "2516_8", [
        ("2516_{8}", T, "braced subscript"), ("2516", T, "policy: subscript omitted"), ("1358", F, "base-10 value"),
        ("2615_8", F, "digits swapped")]),
    ("base_subscript", "math500", "4210_{5}", [("4210_5", T, "unbraced subscript"), ("4201_5", F, "digits swapped")]),
    ("base_subscript", "math_train", "10001_2", [
        ("10001_{2}", T, "braced subscript"), ("17", F, "base-10 value"), ("1001_2", F, "digit missing")]),
    ("base_subscript", "math_train", "-37_8", [("-37_{8}", T, "braced subscript"), ("37_8", F, "sign lost")]),
    ("base_subscript", "math_train", "\\text{A5}_{11}", [
        ("A5_{11}", T, "without text"), ("A5", T, "policy: subscript omitted"), ("115", F, "base-10 value")]),
    ("base_subscript", "math_train", "861_{12}", [("861_12", T, "unbraced"), ("816_{12}", F, "digits swapped")]),
    ("base_subscript", "math_train", "1010100_2", [("1010100_{2}", T, "braced"), ("84", F, "base-10 value")]),
    # ------------------------------------------------------------------ exponents
    ("unbraced_exponent", "olymmath", "2^2023", [
        ("2^{2023}", T, "braced exponent"), ("4^{1011}\\cdot 2", T, "2^2022 x 2"), ("2^{2022}", F, "one less"),
        ("2^{2024}", F, "one more")]),
    ("unbraced_exponent", "olymmath", "2^{17}", [
        ("2^17", T, "unbraced exponent"), ("131072", T, "the value"), ("131071", F, "off by one"), ("2^{16}", F, "half")]),
    # ------------------------------------------------------------------ \cdot vs \times
    ("cdot_times", "olymmath", "4\\times 3^{2010}-5\\times 2^{2010}+1", [
        ("4\\cdot 3^{2010}-5\\cdot 2^{2010}+1", T, "cdot for times"), ("1 - 5\\cdot2^{2010} + 4\\cdot3^{2010}", T,
                                                                          "terms reordered"),
        ("4 \\times 3^{2010} - 5 \\times 2^{2010} - 1", F, "wrong constant")]),
    ("cdot_times", "olymmath", "12 \\times 2^{2022} - 24", [
        ("12\\cdot 2^{2022}-24", T, "cdot"), ("3\\cdot 2^{2024}-24", T, "12 = 3 x 4"),
        ("12 \\cdot 2^{2022} - 12", F, "wrong constant")]),
    ("cdot_times", "olymmath", "6 \\times 5^{2015}", [
        ("6\\cdot5^{2015}", T, "cdot"), ("30\\cdot 5^{2014}", T, "6 x 5 x 5^2014"), ("6 \\cdot 5^{2016}", F, "exponent off")]),
    # ------------------------------------------------------------------ units
    ("units", "math500", "864 \\mbox{ inches}^2", [
        ("864", T, "squared unit dropped"), ("864 \\text{ square inches}", T, "unit words"), ("864\\text{ in}^2", T,
                                                                                              "abbreviated unit"),
        ("846", F, "digits swapped"), ("864^2", F, "a square of the number, not a unit")]),
    ("units", "math500", "15\\mbox{ cm}^2", [
        ("15", T, "unit dropped"), ("15 \\text{ cm}^2", T, "text unit"), ("15 cm^2", T, "plain unit"), ("225", F, "15 squared"),
        ("16", F, "off by one")]),
    ("units", "math500", "\\frac{270}7\\text{ degrees}", [
        ("\\frac{270}{7}", T, "unit dropped"), ("\\frac{270}{7}^\\circ", T, "degree mark"), ("\\frac{260}{7}", F,
                                                                                            "different value")]),
    ("units", "math_train", "\\frac{11}{15}\\text{ days}", [
        ("\\frac{11}{15}", T, "unit dropped"), ("11/15 days", T, "plain unit"), ("\\frac{15}{11}", F, "inverted")]),
    ("units", "math_train", "125\\textnormal{ miles}", [("125", T, "unit dropped"), ("125 miles", T, "plain unit"),
                                                        ("152", F, "digits swapped")]),
    ("units", "math_train", "7 \\text{ distinct integers}", [("7", T, "unit phrase dropped"), ("8", F, "off by one")]),
    ("units", "math_train", "137.5\\text{ degrees}", [
        ("137.5", T, "unit dropped"), ("137.5^\\circ", T, "degree mark"), ("137", F, "truncated")]),
    ("units", "math_train", "16\\text{ daps}", [("16", T, "unit dropped"), ("16\\text{ daps}", T, "same"), ("61", F, "swapped")]),
    ("units", "math_train", "14 \\text{ right triangles}", [("14", T, "unit phrase dropped"), ("12", F, "different")]),
    ("units", "math_train", "180\\text{ miles}", [("180 \\text{ miles}", T, "spacing"), ("180", T, "unit dropped"),
                                                   ("18", F, "ten times too small")]),
    ("units", "math_train", "8\\!:\\!34 \\text{ p.m.}", [("8:34 \\text{ p.m.}", T, "spacing commands dropped"),
                                                          ("8:43 \\text{ p.m.}", F, "different time")]),
    ("units", "math_train", "7\\text{ hours}.", [("7", T, "unit and dot dropped"), ("7 hours", T, "plain unit"),
                                                  ("7.5", F, "different value")]),
    ("units", "math_train", "8\\text{ cm}", [("8", T, "unit dropped"), ("8cm", T, "plain unit"), ("80", F, "mm value")]),
    ("units", "math500", "90^\\circ", [
        ("90", T, "degree mark dropped"), ("90^{\\circ}", T, "braced degree mark"), ("90 degrees", T, "unit word"),
        ("45^\\circ", F, "different angle")]),
    # ------------------------------------------------------------------ trigonometric identities
    ("trig_identity", "math500", "\\cot x", [
        ("\\frac{\\cos x}{\\sin x}", T, "cot = cos/sin"), ("\\frac{1}{\\tan x}", T, "cot = 1/tan"), ("\\tan x", F, "inverse"),
        ("\\cos x", F, "different function"), ("-\\cot x", F, "sign")]),
    ("trig_identity", "math_train", "\\tan \\frac{x}{2}", [
        ("\\frac{\\sin x}{1+\\cos x}", T, "half-angle identity"), ("\\frac{1-\\cos x}{\\sin x}", T, "half-angle identity"),
        ("\\tan x", F, "full angle"), ("\\frac{1}{2}\\tan x", F, "not the half angle")]),
    ("trig_identity", "math_train", "\\cot x", [("\\cos x / \\sin x", T, "slash quotient"), ("\\csc x", F, "different")]),
    ("trig_identity", "math_train", "\\tan 15^\\circ", [
        ("2-\\sqrt{3}", T, "tan 15 degrees = 2 - sqrt 3"), ("\\tan 15^{\\circ}", T, "braced degree mark"),
        ("\\cot 75^\\circ", T, "cot 75 = tan 15"), ("2+\\sqrt{3}", F, "tan 75 degrees")]),
    # ------------------------------------------------------------------ factored forms and expressions
    ("factored_form", "math500", "(a+5)(b+2)", [
        ("ab+2a+5b+10", T, "expanded"), ("(b+2)(a+5)", T, "factors swapped"), ("(a+2)(b+5)", F, "different product"),
        ("(a+5)(b-2)", F, "sign")]),
    ("factored_form", "math500", "p - q", [("-q+p", T, "terms reordered"), ("-(q-p)", T, "negated difference"),
                                           ("q-p", F, "opposite sign")]),
    ("factored_form", "math500", "x^5 - x^4 + x^3 - x^2 + x - 1", [
        ("(x-1)(x^4+x^2+1)", T, "factored"), ("x^5-x^4+x^3-x^2+x+1", F, "constant sign")]),
    ("factored_form", "math500", "x^3+3x-6", [("x^3 + 3x - 6", T, "spacing"), ("x^3-3x-6", F, "sign")]),
    ("factored_form", "math500", "2k+2", [("2(k+1)", T, "factored"), ("2k+1", F, "constant")]),
    ("factored_form", "math500", "-13x+3", [("3-13x", T, "reordered"), ("13x-3", F, "negated")]),
    ("factored_form", "math500", "6r^2-4r-24", [("2(3r^2-2r-12)", T, "factored"), ("6r^2-4r+24", F, "sign")]),
    ("factored_form", "math500", "15x - 80", [("5(3x-16)", T, "factored"), ("15x-8", F, "constant")]),
    ("factored_form", "math500", "5r^5", [("5 r^{5}", T, "braced exponent"), ("5r^4", F, "exponent")]),
    ("factored_form", "math500", "x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x + 1", [
        ("\\frac{x^9-1}{x-1}", T, "geometric sum closed form"), ("x^8+x^7+x^6+x^5+x^4+x^3+x^2+x", F, "constant missing")]),
    ("factored_form", "math500", "8n^2 + 4n + 1", [("1+4n+8n^2", T, "reordered"), ("8n^2+4n", F, "constant missing")]),
    ("factored_form", "math500", "y = 2x + 3", [
        ("y=2x+3", T, "spacing"), ("2x+3", T, "right side of the line equation"), ("y = 3x+2", F, "swapped"),
        ("y=2x-3", F, "sign")]),
    ("factored_form", "math500", "5x - 7y + 11z + 4 = 0", [
        ("5x-7y+11z+4=0", T, "spacing"), ("5x-7y+11z-4=0", F, "constant sign")]),
    # ------------------------------------------------------------------ ordered tuples and points
    ("tuple_order", "math500", "\\left( 3, \\frac{\\pi}{2} \\right)", [
        ("(3, \\frac{\\pi}{2})", T, "without left/right"), ("(3, \\pi/2)", T, "slash"), ("(\\frac{\\pi}{2}, 3)", F, "swapped"),
        ("(-3, \\frac{\\pi}{2})", F, "sign")]),
    ("tuple_order", "math500", "(6,31,-1)", [("(6, 31, -1)", T, "spacing"), ("(6,-1,31)", F, "order")]),
    ("tuple_order", "math500", "(-2,1)", [("(-2, 1)", T, "spacing"), ("(1,-2)", F, "order")]),
    ("tuple_order", "math500", "(15,-29)", [("(15, -29)", T, "spacing"), ("(-29,15)", F, "order")]),
    ("tuple_order", "math500", "\\left( \\frac{3}{2}, -13 \\right)", [
        ("(1.5, -13)", T, "exact decimal"), ("(3/2,-13)", T, "slash"), ("(\\frac32, 13)", F, "sign")]),
    ("tuple_order", "math500", "(1,-16,-4,43)", [("(1, -16, -4, 43)", T, "spacing"), ("(1,-16,4,43)", F, "sign")]),
    ("tuple_order", "math500", "(8,-2)", [("(-2,8)", F, "order"), ("(8, -2)", T, "spacing")]),
    # ------------------------------------------------------------------ matrices and vectors
    ("matrix", "math500", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", [
        ("\\begin{bmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{bmatrix}", T, "bmatrix"), ("(-1/3, 2/3, 5/3)", T, "as a tuple"),
        ("\\begin{pmatrix} 2/3 \\\\ -1/3 \\\\ 5/3 \\end{pmatrix}", F, "entries swapped")]),
    ("matrix", "math500", "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", [
        ("(-2,-14,-7)", T, "tuple"), ("\\begin{pmatrix} 2 \\\\ 14 \\\\ 7 \\end{pmatrix}", F, "negated")]),
    ("matrix", "math500", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", [
        ("\\begin{bmatrix}-1&0\\\\0&-1\\end{bmatrix}", T, "bmatrix"),
        ("\\begin{pmatrix} 0 & -1 \\\\ -1 & 0 \\end{pmatrix}", F, "different matrix")]),
    ("matrix", "math500", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", [
        ("\\begin{pmatrix} \\frac{1}{5} \\\\ -\\frac{18}{5} \\end{pmatrix}", T, "frac entries"),
        ("\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}", T, "exact decimals"),
        ("\\begin{pmatrix} 1/5 \\\\ 18/5 \\end{pmatrix}", F, "sign")]),
    ("matrix", "math500", "\\begin{pmatrix} 16/49 \\\\ 48/49 \\\\ 24/49 \\end{pmatrix}", [
        ("\\frac{8}{49}\\begin{pmatrix} 2 \\\\ 6 \\\\ 3 \\end{pmatrix}", T, "scalar times a vector, same entries"),
        ("\\begin{pmatrix} 16/49 \\\\ 24/49 \\\\ 48/49 \\end{pmatrix}", F, "entries swapped")]),
    ("matrix", "math_train", "\\begin{pmatrix} -1215 \\\\ 486 \\end{pmatrix}", [
        ("(-1215, 486)", T, "tuple"), ("\\begin{pmatrix} -1215 \\\\ 468 \\end{pmatrix}", F, "digits swapped")]),
    # ------------------------------------------------------------------ text answers and choices
    ("text_answer", "math500", "\\text{Evelyn}", [
        ("Evelyn", T, "same name"), ("evelyn", T, "case"), ("Emily", F, "different name"), ("Evelyn and Navin", F, "two names")]),
    ("text_answer", "math500", "\\text{east}", [("East", T, "case"), ("\\text{East}", T, "text"), ("west", F, "opposite")]),
    ("text_answer", "math500", "\\text{even}", [("even", T, "same"), ("odd", F, "opposite"), ("\\text{odd}", F, "opposite")]),
    ("text_answer", "math500", "\\text{ellipse}", [("ellipse", T, "same"), ("parabola", F, "different"), ("circle", F,
                                                                                                          "different")]),
    ("text_answer", "math500", "\\text{Navin}", [("Navin", T, "same"), ("Luka", F, "different")]),
    ("text_answer", "math_train", "\\text{two lines}", [("two lines", T, "same words"), ("one line", F, "different")]),
    ("text_answer", "math_train", "\\text{CBAD}", [("CBAD", T, "same order"), ("ABCD", F, "order"), ("DCBA", F, "order")]),
    ("text_answer", "math_train", "\\text{Thursday}", [("Thursday", T, "same"), ("Friday", F, "next day")]),
    ("text_answer", "math_train", "\\text{Friday}", [("\\text{Friday}", T, "same"), ("Saturday", F, "next day")]),
    ("choice", "math_train", "\\text{B}", [("B", T, "same letter"), ("(B)", T, "parenthesised"), ("C", F, "other letter")]),
    ("choice", "math_train", "\\text{A}", [("A", T, "same letter"), ("\\textbf{A}", T, "bold"), ("B", F, "other letter")]),
    ("choice", "math500", "\\text{(C)}", [
        ("C", T, "letter only"), ("(C)", T, "parenthesised"), ("\\text{C}", T, "text"), ("D", F, "other letter"),
        ("(D)", F, "other letter")]),
    ("choice", "math500", "\\text{(E)}", [("E", T, "letter"), ("(E)", T, "parenthesised"), ("A", F, "other letter")]),
    ("choice", "math500", "\\text{(B)}", [("B", T, "letter"), ("(C)", F, "other letter")]),
    # ------------------------------------------------------------------ radicals, fractions, constants
    ("radical_fraction", "math500", "11\\sqrt2", [
        ("\\sqrt{242}", T, "11^2 x 2 = 242"), ("11\\sqrt{2}", T, "braced"), ("11 \\cdot \\sqrt{2}", T, "explicit product"),
        ("\\sqrt{22}", F, "different"), ("11\\sqrt{3}", F, "different radical"),
        ("15.56", F, "policy: 2-place rounding is off by more than 1e-4")]),
    ("radical_fraction", "math500", "3\\sqrt{13}", [("\\sqrt{117}", T, "9 x 13"), ("3\\sqrt{31}", F, "digits swapped")]),
    ("radical_fraction", "math500", "\\frac{3\\sqrt{3}}{4}", [
        ("\\frac{3}{4}\\sqrt{3}", T, "factored differently"), ("\\frac{\\sqrt{27}}{4}", T, "3 sqrt 3 = sqrt 27"),
        ("\\frac{3\\sqrt3}{2}", F, "denominator")]),
    ("radical_fraction", "math500", "\\frac{\\sqrt{3}}{3}", [
        ("\\frac{1}{\\sqrt{3}}", T, "unrationalised"), ("\\sqrt{3}", F, "different"), ("\\frac{\\sqrt{3}}{2}", F, "different")]),
    ("radical_fraction", "math500", "-\\sqrt{3}", [("-\\sqrt3", T, "shorthand"), ("\\sqrt{3}", F, "sign")]),
    ("radical_fraction", "math500", "1+2\\sqrt{3}", [
        ("2\\sqrt{3}+1", T, "reordered"), ("1+\\sqrt{12}", T, "2 sqrt 3 = sqrt 12"), ("1-2\\sqrt{3}", F, "sign")]),
    ("radical_fraction", "math500", "11 \\sqrt{5} + 11", [("11(\\sqrt{5}+1)", T, "factored"), ("11\\sqrt5 - 11", F, "sign")]),
    ("radical_fraction", "math500", "\\frac{\\sqrt{21}}{5}", [
        ("\\sqrt{\\frac{21}{25}}", T, "root of the square"), ("\\frac{\\sqrt{21}}{25}", F, "denominator")]),
    ("radical_fraction", "olymmath", "4\\sqrt{15}-14", [("-14+4\\sqrt{15}", T, "reordered"), ("14-4\\sqrt{15}", F, "negated")]),
    ("radical_fraction", "olymmath", "\\pi -\\arccos \\frac{1}{8}", [
        ("\\arccos(-\\frac{1}{8})", T, "pi - arccos a = arccos(-a)"), ("\\arccos \\frac18", F, "different angle")]),
    ("radical_fraction", "olymmath", "\\frac{1}{1112111}", [("1/1112111", T, "slash"), ("\\frac{1}{1111211}", F, "digits")]),
    ("radical_fraction", "olymmath", "\\frac{72\\sqrt{3}}{25}", [
        ("\\frac{72}{25}\\sqrt{3}", T, "factored"), ("2.88\\sqrt{3}", T, "72/25 = 2.88 exactly"),
        ("\\frac{72\\sqrt{2}}{25}", F, "different radical")]),
    ("radical_fraction", "olymmath", "\\frac{\\sqrt{3}\\pi}{2}", [
        ("\\frac{\\pi\\sqrt3}{2}", T, "reordered"), ("\\frac{\\sqrt{3}}{2}\\pi", T, "factored"), ("\\sqrt{3}\\pi", F, "half missing")]),
    ("radical_fraction", "math500", "\\frac{20000}{\\pi}", [
        ("20000/\\pi", T, "slash"), ("6366.2", T, "policy: correct rounding within 1e-4"), ("20000\\pi", F, "inverted")]),
    ("radical_fraction", "math500", "288 \\pi", [
        ("288\\pi", T, "spacing"), ("904.78", T, "policy: correct rounding within 1e-4"), ("288", F, "pi missing")]),
    ("radical_fraction", "math500", "18+2\\pi", [("2\\pi+18", T, "reordered"), ("20\\pi", F, "not distributive")]),
    ("radical_fraction", "math500", "-\\frac{\\pi}{6}", [("-\\pi/6", T, "slash"), ("\\frac{\\pi}{6}", F, "sign")]),
    ("radical_fraction", "math500", "\\pi", [
        ("3.14159", T, "policy: correct rounding within 1e-4"), ("3.14", F, "policy: off by more than 1e-4"),
        ("\\pi", T, "same")]),
    ("radical_fraction", "math_train", "2007 + \\frac\\pi 2", [
        ("2007+\\frac{\\pi}{2}", T, "braced fraction"), ("2007 + \\frac\\pi 3", F, "pi/3, not pi/2"),
        ("2007", F, "the fraction dropped")]),
    ("radical_fraction", "math500", "1.25", [("\\frac{5}{4}", T, "1.25 = 5/4"), ("1.2", F, "different value")]),
    # ------------------------------------------------------------------ prefixes and boxes
    ("prefix", "aime", "116", [
        ("x = 116", T, "x = prefix"), ("116.0", T, "decimal zero"), ("\\boxed{116}", T, "boxed"), ("117", F, "off by one"),
        ("-116", F, "sign")]),
]

# whole completions: each grader extracts its own answer first
COMPLETIONS: list[tuple[str, str, str, bool, str]] = [
    ("math500", "\\left( 3, \\frac{\\pi}{2} \\right)",
     "Final Answer: The final answer is $\\left( 3, \\frac{\\pi}{2} \\right)$. I hope it is correct.", T,
     "Minerva final line, no box"),
    ("aime", "116", "We add them.\nFinal Answer: The final answer is $116$. I hope it is correct.", T, "Minerva line"),
    ("aime", "116", "We add them.\nFinal Answer: The final answer is $117$. I hope it is correct.", F, "Minerva, wrong"),
    ("math_train", "10\\%", "Final Answer: The final answer is $10\\%$. I hope it is correct.", T, "Minerva with percent"),
    ("olymmath", "\\frac{18}{5}", "Final Answer: The final answer is $\\frac{18}{5}$. I hope it is correct.", T,
     "Minerva fraction"),
    ("math500", "10,\\!080", "So there are $\\boxed{10,\\!080}$ ways.", T, "boxed with separator"),
    ("math500", "1\\frac{4}{5}", "Hence the length is $\\boxed{\\frac{9}{5}}$.", T, "boxed improper fraction"),
    ("math500", "(3,4]", "Thus the solution set is $\\boxed{(3,4]}$.", T, "boxed interval"),
    ("olymmath", "4", "First guess \\boxed{3}. Checking again, the answer is \\boxed{4}.", T, "the last box counts"),
    ("olymmath", "3", "First guess \\boxed{3}. Checking again, the answer is \\boxed{4}.", F, "the last box is 4"),
    ("gsm_hard", "13138980.0", "<answer>\\boxed{13138980}</answer>", T, "boxed inside answer tags"),
    ("olymmath", "\\frac{2}{3}", "The answer is $\\frac{2}{3}$.", T, "answer-is phrase with dollars"),
    ("math500", "\\text{Evelyn}", "Evelyn has the greatest average speed, so the answer is $\\boxed{\\text{Evelyn}}$.", T,
     "boxed text"),
    ("math500", "\\$32,\\!348", "The total is $\\boxed{\\$32,348}$.", T, "boxed dollars"),
    ("math500", "\\$32,\\!348", "The total is $\\boxed{\\$32,347}$.", F, "boxed near miss"),
    ("math500", "x \\in [-2,7]", "So $\\boxed{-2 \\le x \\le 7}$.", T, "boxed inequality for an interval"),
]


def _load_golds() -> dict[tuple[str, str], list[str]]:
    golds: dict[tuple[str, str], list[str]] = {}
    for task in TASKS:
        for line in (ROOT / "tasks" / task / "data" / f"{task}.jsonl").read_text().splitlines():
            row = json.loads(line)
            sample_id = _PREFIX.get(row.get("_source"), "") + str(row["id"]).strip()
            golds.setdefault((task, str(row["answer"])), []).append(sample_id)
    return golds


def _generated(golds: dict[tuple[str, str], list[str]], used: set[tuple[str, str]]) -> list[dict]:
    """Families with one fixed rule each, on golds the hand rows do not use."""
    rows = []

    def add(task, gold, pred, label, kind, reason):
        rows.append({"task": task, "id": golds[(task, gold)][0], "gold": gold, "prediction": pred, "label": label,
                     "kind": kind, "reason": reason})

    def integer_golds(task):
        return [g for (t, g) in golds if t == task and (t, g) not in used and g.lstrip("-").isdigit()]

    for gold in sorted(integer_golds("aime"), key=int)[:20]:
        add("aime", gold, gold, T, "integer", "same integer")
        add("aime", gold, str(int(gold) + 1), F, "near_miss", "off by one")
    for gold in sorted(integer_golds("olymmath"), key=int)[-15:]:
        add("olymmath", gold, f"{int(gold):,}", T, "integer", "thousands separators")
        add("olymmath", gold, str(int(gold) * 10), F, "near_miss", "an extra digit")
    gsm = sorted(g for (t, g) in golds if t == "gsm_hard" and (t, g) not in used)
    whole = [g for g in gsm if float(g).is_integer() and abs(float(g)) >= 10_000][:15]
    for gold in whole:
        n = int(float(gold))
        add("gsm_hard", gold, str(n), T, "integer_tolerance", "the integer of an integer-valued float gold")
        add("gsm_hard", gold, f"{n:,}", T, "integer_tolerance", "same with thousands separators")
        add("gsm_hard", gold, str(n + 1), F, "integer_tolerance", "off by one: a different integer")
        rounded = int(float(f"{n:.4g}"))
        if rounded != n:
            add("gsm_hard", gold, str(rounded), F, "integer_tolerance", "rounded to 4 significant digits")
    fractional = [g for g in gsm if not float(g).is_integer() and "e" not in g and abs(float(g)) >= 100][:15]
    for gold in fractional:
        value = Fraction(gold)
        two_places = round(value, 2)
        if two_places != value:
            add("gsm_hard", gold, f"{float(two_places):.2f}", T, "float_gold", "correct 2-place rounding of a large gold")
        add("gsm_hard", gold, str(round(value)), F, "float_gold", "rounded to an integer")
    return rows


def build() -> list[dict]:
    golds = _load_golds()
    rows, used = [], set()
    for kind, task, gold, preds in HAND:
        if (task, gold) not in golds:
            raise SystemExit(f"gold {gold!r} not found in tasks/{task}/data/{task}.jsonl")
        used.add((task, gold))
        for pred, label, reason in preds:
            rows.append({"task": task, "id": golds[(task, gold)][0], "gold": gold, "prediction": pred, "label": label,
                         "kind": kind, "reason": reason})
    for task, gold, completion, label, reason in COMPLETIONS:
        if (task, gold) not in golds:
            raise SystemExit(f"gold {gold!r} not found in tasks/{task}/data/{task}.jsonl")
        rows.append({"task": task, "id": golds[(task, gold)][0], "gold": gold, "prediction": completion, "label": label,
                     "kind": "extraction", "reason": reason, "completion": True})
    rows += _generated(golds, used)
    seen = set()
    for row in rows:
        key = (row["task"], row["gold"], row["prediction"])
        if key in seen:
            raise SystemExit(f"duplicate pair {key}")
        seen.add(key)
    return rows


def main() -> None:
    rows = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    print(f"{len(rows)} pairs -> {OUT.relative_to(ROOT)}: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))


if __name__ == "__main__":
    main()
