#!/usr/bin/env python3
"""agentdistill sandbox worker: a stateful CPython interpreter with forked candidates (stdlib only).

Runs inside the sandbox (bubblewrap, a Docker container, or, unsafely, on the host). The host speaks to it over one
byte stream: 4-byte big-endian length + UTF-8 JSON per message. Modes:

  worker.py               one interpreter session on stdin/stdout (``docker exec -i``, local)
  worker.py --serve FD    a spawner accepting connections on the listening Unix socket FD (bwrap); each connection
                          starts with one request: ``init`` (an interpreter session), ``exec``, ``read_file``,
                          ``write_file`` or ``ping``
  worker.py --listen PATH the same spawner on a Unix socket it creates at PATH (a container: PATH is in a directory
                          the host mounted in, since no fd can be passed through the engine)

Processes of one interpreter session:
  R  router: talks to the host, owns every candidate's control socket and output pipes, enforces the hard
     timeout, reaps (child subreaper), never runs user code.
  S  state holder: holds the user's globals; on request forks N candidates from its current state. A candidate
     runs its code, reports, then parks. ``commit i``: candidate i becomes the new S (its state is the new
     state: the winner is not run again) and the old S exits; ``discard``: candidates die, S is unchanged.
Single actions are candidates too (committed unless killed or timed out), so a killed or timed-out action leaves
the state exactly as it was before.
"""

from __future__ import annotations

import ast
import base64
import builtins
import errno
import gc
import json
import linecache
import math
import os
import random
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS", "GOTO_NUM_THREADS"):
    os.environ[_var] = "1"

HEADER = struct.Struct(">I")
MAX_MESSAGE = 256 * 1024 * 1024
USER_FILENAME = "<code>"
WORKER_FILE = __file__ if "__file__" in globals() else "<worker>"
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1

DEFAULTS = {
    "tools": [],  # names of host tools to expose as functions
    "timeout": 10.0,  # soft timeout per action, seconds (a readable ExecutionTimeout)
    "grace": 2.0,  # then SIGKILL to the candidate's process group
    "memory_mb": 2048,  # RLIMIT_AS per process
    "file_size_mb": 64,  # RLIMIT_FSIZE
    "max_procs": 1024,  # RLIMIT_NPROC (only enforced for non-root uids, per uid; bwrap adds a cgroup pids limit)
    "output_cap": 32768,  # bytes kept per stream (stdout, stderr)
    "value_cap": 8192,  # characters kept of the last expression's repr
    "workdir": None,
    "prefork": True,  # after commit/discard, fork spares for the next request from the (new) state
    # The paper's code executor, reproduced (the agent solvers' default; None/False: plain CPython):
    "authorized_imports": None,  # module allow-list of the user's own imports (a module or a parent of it listed)
    "reference_errors": False,  # errors as "Code execution failed at line '...' due to: ..." + the reference's
    # "last output" (the value of the last top-level statement, also of assignments and loops)
}
LAST_OUTPUT_CAP = 20000  # the reference's truncate_content: head and tail halves around a note
PRINT_OUTPUTS_CAP = 50000  # the same for the print outputs (its executor's DEFAULT_MAX_LEN_OUTPUT)


# ----------------------------------------------------------------------------------------------------- framing
def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        view = view[n:]


def encode(msg: dict) -> bytes:
    data = json.dumps(msg, default=str, ensure_ascii=False).encode("utf-8", "surrogateescape")
    return HEADER.pack(len(data)) + data


class Conn:
    """One framed duplex channel on (rfd, wfd); blocking `recv` or incremental `feed` for select loops."""

    def __init__(self, rfd: int, wfd: int | None = None, sock: socket.socket | None = None):
        self.rfd = rfd
        self.wfd = rfd if wfd is None else wfd
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def send(self, msg: dict) -> bool:
        try:
            _write_all(self.wfd, encode(msg))
            return True
        except OSError:
            return False

    def _parse(self) -> list[dict]:
        out = []
        while len(self.buf) >= HEADER.size:
            (n,) = HEADER.unpack_from(self.buf)
            if n > MAX_MESSAGE:
                raise ValueError("message too large")
            if len(self.buf) < HEADER.size + n:
                break
            out.append(json.loads(bytes(self.buf[HEADER.size:HEADER.size + n])))
            del self.buf[:HEADER.size + n]
        return out

    def feed(self) -> list[dict]:
        """Read what is available (one read) and return the complete messages; sets eof."""
        try:
            data = os.read(self.rfd, 1 << 20)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return []
        self.buf += data
        return self._parse()

    def recv(self) -> dict | None:
        while True:
            msgs = self._parse()
            if msgs:
                # blocking users get one message at a time: push the rest back
                first, rest = msgs[0], msgs[1:]
                if rest:
                    self.buf[:0] = b"".join(encode(m) for m in rest)
                return first
            try:
                data = os.read(self.rfd, 1 << 20)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                self.eof = True
                return None
            self.buf += data

    def close(self) -> None:
        for fd in {self.rfd, self.wfd}:
            try:
                os.close(fd)
            except OSError:
                pass
        self.eof = True


# ----------------------------------------------------------------------------------------------------- helpers
def _prctl(option: int, arg: int) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, arg, 0, 0, 0) == 0
    except Exception:
        return False


def _set_limit(which: int, value: int | None) -> None:
    if value is None:
        return
    try:
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY and value > hard:
            value = hard
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


def _cap_text(data: bytes, total: int, cap: int) -> tuple[str, bool]:
    text = data.decode("utf-8", "replace")
    if total > cap:
        return text + f"\n[output truncated: {total} bytes written, first {cap} kept]", True
    return text, False


def _describe_status(status: int | None) -> str:
    if status is None:
        return "the process ended without reporting"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"the process was killed by {name}"
    if os.WIFEXITED(status):
        return f"the process exited with status {os.WEXITSTATUS(status)} (os._exit or a crash)"
    return f"the process ended (status {status})"


def _proc_table() -> list[tuple[int, int, int]]:
    """(pid, ppid, pgid) of every process visible in /proc."""
    out = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            fields = stat[stat.rfind(b")") + 2:].split()
            out.append((int(name), int(fields[1]), int(fields[2])))
        except (OSError, IndexError, ValueError):
            continue
    return out


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid, _pgid in _proc_table():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _kill(pid: int, group: bool = False) -> None:
    if pid is None or pid <= 1 or (group and pid == os.getpgrp()):
        return  # never 0 / -1 (own group, everything) or init
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _devnull_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


# ----------------------------------------------------------------------------------------------------- user side
class ExecutionTimeout(BaseException):
    """Raised inside user code when the action's soft time limit passes (BaseException: `except Exception` in the
    user's code does not swallow it)."""


class _FinalAnswer(BaseException):
    pass


class ToolError(RuntimeError):
    pass


class _Candidate:
    """What runs in a forked candidate process."""

    in_user_code = False
    timeout = 0.0

    def __init__(self, chan: Conn, cfg: dict, ns: dict):
        self.chan = chan
        self.cfg = cfg
        self.ns = ns
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.final_called = False
        self.final_value = None

    # tools -----------------------------------------------------------------------------------------------------
    def final_answer(self, answer=None):
        self.final_called = True
        self.final_value = answer
        raise _FinalAnswer()

    def call_tool(self, name: str, args: tuple, kwargs: dict):
        if os.getpid() != self.pid:
            raise ToolError(f"{name}() can only be called from the interpreter's main process")
        with self.lock:
            remaining = signal.setitimer(signal.ITIMER_REAL, 0)[0]
            try:
                if not self.chan.send({"op": "tool", "name": name, "args": list(args), "kwargs": kwargs}):
                    raise ToolError(f"{name}(): the host channel is closed")
                reply = self.chan.recv()
            finally:
                if remaining > 0:
                    signal.setitimer(signal.ITIMER_REAL, remaining)
        if reply is None:
            raise ToolError(f"{name}(): the host channel is closed")
        if reply.get("error") is not None:
            raise ToolError(reply["error"])
        return reply.get("value")

    # execution -------------------------------------------------------------------------------------------------
    def _on_alarm(self, signum, frame):
        if _Candidate.in_user_code:
            raise ExecutionTimeout(f"the code ran longer than the {self.timeout:g} s time limit")

    def run(self, code: str, timeout: float) -> dict:
        _Candidate.timeout = timeout
        value = error = last_output = None
        timed_out = False
        t0 = time.perf_counter()
        signal.signal(signal.SIGALRM, self._on_alarm)
        try:
            tree = ast.parse(code, USER_FILENAME, "exec")
        except SyntaxError as e:
            error = "".join(traceback.format_exception_only(type(e), e)).rstrip()
            tree = None
        reference = bool(self.cfg.get("reference_errors"))
        top: list = []
        if tree is None and reference:
            error = _reference_syntax_error(code)
        precheck = _reference_precheck(tree) if reference and tree is not None else None
        if precheck is not None:
            error, tree = precheck, None
        if tree is not None:
            last = None
            top = list(tree.body)
            if reference:
                tree = _instrument_last_output(tree)
            elif tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            lines = code.splitlines(True)
            linecache.cache[USER_FILENAME] = (len(code), None, lines, USER_FILENAME)
            try:
                _Candidate.in_user_code = True
                signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.001))
                exec(compile(tree, USER_FILENAME, "exec"), self.ns)
                if last is not None:
                    result = eval(compile(last, USER_FILENAME, "eval"), self.ns)
                    if result is not None:
                        value = repr(result)
            except _FinalAnswer:
                pass
            except BaseException as e:  # noqa: BLE001  (user code: everything is reported)
                timed_out = isinstance(e, ExecutionTimeout)
                try:
                    if reference and not timed_out:
                        error = _reference_error(e, code, top)
                    else:
                        error = _format_user_error(e)
                except BaseException:  # noqa: BLE001
                    error = f"{type(e).__name__}: (unprintable error)"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                _Candidate.in_user_code = False
            if reference:
                last_value = self.ns.pop(_LAST_NAME, None)
                self.ns.pop(_LAST_NAME + "v", None)
                self.ns.pop(_LAST_NAME + "a", None)
                if not self.final_called:
                    last_output = _capped_str(last_value)
        if os.getpid() != self.pid:  # a fork made by the user's code finished: never report twice
            os._exit(0)
        final = None
        if self.final_called:
            final = self.final_value
            try:
                json.dumps(final)
            except (TypeError, ValueError):
                try:
                    final = str(final)
                except BaseException:  # noqa: BLE001
                    final = "<unprintable>"
        if self.final_called:
            last_output = _capped_str(self.final_value)
        cap = int(self.cfg["value_cap"])
        if value is not None and len(value) > cap:
            value = value[:cap] + f"... [repr truncated: {len(value)} characters]"
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001
                pass
        return {
            "op": "done", "value": value, "error": error, "timed_out": timed_out,
            "wall_ms": (time.perf_counter() - t0) * 1000.0,
            "final_answer_called": self.final_called, "final_answer": final, "last_output": last_output,
            "refused_before_running": precheck is not None,
        }


def _format_user_error(e: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename != WORKER_FILE]
    while frames and frames[0].filename != USER_FILENAME:
        frames.pop(0)
    text = "".join(traceback.format_exception_only(type(e), e)).rstrip()
    if not frames:
        return text
    return "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + text


# ------------------------------------------------------------------- the paper's executor, as its users saw it
class InterpreterError(ImportError):
    """An import outside the allow-list (named as the reference's executor names its errors)."""


_LAST_NAME = "_agentdistill_last_output_"


def _module_authorized(name: str, allowed: list[str]) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:i]) in allowed for i in range(1, len(parts) + 1))


def _guarded_import(ns: dict, allowed: list[str]):
    """An __import__ that refuses the user's own imports outside the allow-list (library code imports freely: its
    modules keep the real builtins). The listed order is a set's, as in the reference's message."""
    real_import = builtins.__import__
    shown = str(list(set(allowed)))

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if globals is ns and (level or not _module_authorized(name, allowed)):
            kind = "Import from" if level or fromlist else "Import of"
            raise InterpreterError(f"{kind} {name} is not allowed. Authorized imports are: {shown}")
        return real_import(name, globals, locals, fromlist, level)

    return guarded_import


# The only builtins the reference's interpreter offered (its BASE_PYTHON_TOOLS, math functions included, without an
# import), plus every exception class. Anything else (open, repr, globals, super, ...) was "not permitted".
REFERENCE_BUILTINS = ("isinstance", "range", "float", "int", "bool", "str", "set", "list", "dict", "tuple", "round",
                      "pow", "len", "sum", "max", "min", "abs", "enumerate", "zip", "reversed", "sorted", "all", "any",
                      "map", "filter", "ord", "chr", "next", "iter", "divmod", "callable", "getattr", "hasattr",
                      "setattr", "issubclass", "type", "complex")
REFERENCE_MATH = ("ceil", "floor", "log", "exp", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "degrees",
                  "radians", "sqrt")
_PRINT_NAME = "_agentdistill_print_"


def _reference_print(*args, **_ignored):
    """The reference's print: arguments joined by a space and a newline; sep, end and file were ignored."""
    sys.stdout.write(" ".join(map(str, args)) + "\n")


def _print_as_value(*args, **kwargs):
    """`print` used as a value (map(print, ...)) was the reference's no-op stand-in."""
    return None


def _user_builtins(ns: dict, allowed: list[str] | None, reference: bool) -> dict:
    if reference:
        table = {name: getattr(builtins, name) for name in REFERENCE_BUILTINS}
        table.update({name: getattr(math, name) for name in REFERENCE_MATH})
        table.update({name: value for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)})
        table.update({"__build_class__": builtins.__build_class__, "__import__": builtins.__import__,
                      "print": _print_as_value, _PRINT_NAME: _reference_print})
    else:
        table = dict(vars(builtins))
    if allowed is not None:
        table["__import__"] = _guarded_import(ns, allowed)
    return table


class _PrintCalls(ast.NodeTransformer):
    """`print(...)` called by name runs the reference's print (see `_reference_print`)."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "print":
            node.func = ast.copy_location(ast.Name(id=_PRINT_NAME, ctx=ast.Load()), node.func)
        return node


def _capped_str(value, cap: int = LAST_OUTPUT_CAP) -> str:
    try:
        text = str(value)
    except BaseException:  # noqa: BLE001
        text = "<unprintable>"
    if len(text) <= cap:
        return text
    half = cap // 2
    return text[:half] + f"\n..._This content has been truncated to stay below {cap} characters_...\n" + text[-half:]


def _capture(value_node: ast.expr, like: ast.AST) -> list:
    """`_last = <value>` when the value is not None (the reference keeps a block's last non-None line value)."""
    tmp = ast.Name(id=_LAST_NAME + "v", ctx=ast.Store())
    assign = ast.Assign(targets=[tmp], value=value_node)
    test = ast.Compare(left=ast.Name(id=_LAST_NAME + "v", ctx=ast.Load()), ops=[ast.IsNot()],
                       comparators=[ast.Constant(value=None)])
    keep = ast.If(test=test, body=[ast.Assign(targets=[ast.Name(id=_LAST_NAME, ctx=ast.Store())],
                                              value=ast.Name(id=_LAST_NAME + "v", ctx=ast.Load()))], orelse=[])
    out = [assign, keep, ast.Delete(targets=[ast.Name(id=_LAST_NAME + "v", ctx=ast.Del())])]
    for node in out:
        ast.copy_location(node, like)
    return out


def _instrument_block(body: list) -> list:
    out: list = []
    for stmt in body:
        if isinstance(stmt, ast.Expr):
            out += _capture(stmt.value, stmt)
        elif isinstance(stmt, ast.Assign):
            tmp = ast.copy_location(ast.Name(id=_LAST_NAME + "a", ctx=ast.Store()), stmt)
            out.append(ast.copy_location(ast.Assign(targets=[tmp], value=stmt.value), stmt))
            out.append(ast.copy_location(
                ast.Assign(targets=stmt.targets, value=ast.Name(id=_LAST_NAME + "a", ctx=ast.Load())), stmt))
            out += _capture(ast.Name(id=_LAST_NAME + "a", ctx=ast.Load()), stmt)
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            out.append(stmt)
            out += _capture(ast.Name(id=stmt.target.id, ctx=ast.Load()), stmt)
        elif isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            out.append(stmt)
            out += _capture(ast.Name(id=stmt.name, ctx=ast.Load()), stmt)
        elif isinstance(stmt, ast.For):
            stmt.body = _instrument_block(stmt.body)
            out.append(stmt)
        elif isinstance(stmt, ast.If):
            stmt.body = _instrument_block(stmt.body)
            stmt.orelse = _instrument_block(stmt.orelse)
            out.append(stmt)
        else:  # while, try, with, import, ...: no value in the reference
            out.append(stmt)
    return out


def _instrument_last_output(tree: ast.Module) -> ast.Module:
    """Each top-level statement resets the last output to None, then records its value as the reference does."""
    body: list = []
    for stmt in tree.body:
        reset = ast.Assign(targets=[ast.Name(id=_LAST_NAME, ctx=ast.Store())], value=ast.Constant(value=None))
        body.append(ast.copy_location(reset, stmt))
        body += _instrument_block([stmt])
    tree.body = body
    return ast.fix_missing_locations(_PrintCalls().visit(tree))


def _called_names(node: ast.AST) -> set:
    return {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _reference_error(e: BaseException, code: str, top: list) -> str:
    """`Code execution failed at line '<top-level statement>' due to: <type>: <message>`."""
    name, message = type(e).__name__, str(e)
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == USER_FILENAME]
    node = None
    if frames and frames[0].lineno is not None:
        line = frames[0].lineno
        node = next((n for n in top if n.lineno <= line <= (n.end_lineno or n.lineno)), None)
    if isinstance(e, NameError) and getattr(e, "name", None):
        name = "InterpreterError"
        if node is not None and e.name in _called_names(node):
            message = ("It is not permitted to evaluate other functions than the provided tools or functions "
                       f"defined/imported in previous code (tried to execute {e.name}).")
        else:
            message = f"The variable `{e.name}` is not defined."
    if node is None:
        return f"{name}: {message}"
    return f"Code execution failed at line '{ast.get_source_segment(code, node)}' due to: {name}: {message}"


def _loop_depth(node: ast.AST, depth: int = 0) -> int:
    """Nesting of for/while loops, a comprehension counting one level per generator (the reference's count)."""
    deepest = depth
    if isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
        depth += 1
        deepest = depth
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        deepest = max(deepest, depth + len(node.generators))
    for child in ast.iter_child_nodes(node):
        deepest = max(deepest, _loop_depth(child, depth))
    return deepest


_REFUSED_ITERTOOLS = ("product", "permutations", "combinations", "combinations_with_replacement")


def _reference_precheck(tree: ast.Module) -> str | None:
    """The checks the reference's executor made before running anything, with their texts: more than one level of
    loops, and calls of itertools' combinatorial generators (its size estimate always failed with a TypeError for
    product/permutations with arguments; combinations were refused outright)."""
    if _loop_depth(tree) > 1:
        return "too many for loops - not running the code to prevent out-of-memory error"
    imported: dict = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module or ''}.{alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module, attr = imported.get(func.value.id, func.value.id), func.attr
        elif isinstance(func, ast.Name):
            full = imported.get(func.id)
            module, attr = full.rsplit(".", 1) if full and "." in full else ("", func.id)
        else:
            continue
        if module != "itertools" or attr not in _REFUSED_ITERTOOLS:
            continue
        name = f"{module}.{attr}"
        if attr in ("product", "permutations"):
            if not node.args:
                return f"{name} missing iterable \u2014 blocking for safety"
            return "estimate_len() missing 1 required positional argument: 'state'"
        return f"Usage of {name} is blocked as potentially dangerous"
    return None


def _reference_syntax_error(code: str) -> str:
    try:
        ast.parse(code)
    except SyntaxError as e:
        return (f"Code parsing failed on line {e.lineno} due to: {type(e).__name__}\n{e.text}"
                f"{' ' * (e.offset or 0)}^\nError: {str(e)}")
    return "SyntaxError"


def _make_namespace(tool_names: list[str], authorized_imports: list[str] | None = None,
                    reference: bool = False) -> dict:
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    if authorized_imports is not None or reference:
        ns["__builtins__"] = _user_builtins(ns, authorized_imports, reference)

    def final_answer(answer=None):
        """Give the final answer and stop."""
        return _CURRENT.final_answer(answer)

    ns["final_answer"] = final_answer
    for name in tool_names:
        def tool(*args, __name=name, **kwargs):
            return _CURRENT.call_tool(__name, args, kwargs)

        tool.__name__ = tool.__qualname__ = name
        tool.__doc__ = f"Host tool `{name}` (runs outside the sandbox)."
        ns[name] = tool
    return ns


_CURRENT: _Candidate = None  # type: ignore[assignment]  (set in each candidate process)


# ----------------------------------------------------------------------------------------------------- state holder
_S_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM,
              signal.SIGPIPE, signal.SIGQUIT, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGTSTP, signal.SIGTTIN,
              signal.SIGTTOU)


def _state_holder_mode() -> None:
    for sig in _S_SIGNALS:
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):
            pass


class _Become(BaseException):
    """Unwinds a committed candidate's stack back to `state_holder`, which carries on with its channel."""

    def __init__(self, chan: Conn, sock: socket.socket, fds: list[int]):
        super().__init__()
        self.chan, self.sock, self.fds = chan, sock, fds


def state_holder(chan: Conn, sock: socket.socket, cfg: dict, ns: dict) -> None:
    """S: hold the state, fork candidates on request. Never returns (exits the process)."""
    fds: list[int] = []
    while True:
        try:
            _state_holder_loop(chan, sock, cfg, ns, fds)
            os._exit(0)
        except _Become as b:
            chan, sock, fds = b.chan, b.sock, b.fds


def _state_holder_loop(chan: Conn, sock: socket.socket, cfg: dict, ns: dict, fds: list[int]) -> None:
    _state_holder_mode()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    _report_exits(chan)  # children left by this process's own action (while it was a candidate)
    while True:
        reqs = chan._parse()  # a request may have arrived while this process was parked as a candidate
        if not reqs:
            try:
                ready, _, _ = select.select([chan.rfd, wake_r], [], [])
            except InterruptedError:
                continue
            if wake_r in ready:
                try:
                    os.read(wake_r, 4096)
                except OSError:
                    pass
                _report_exits(chan)
            if chan.rfd not in ready:
                continue
            try:
                msg, new_fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 512)
            except InterruptedError:
                continue
            except OSError:
                return
            if not msg:
                return
            fds += new_fds
            chan.buf += msg
            continue
        for req in reqs:
            op = req.get("op")
            if op == "exit":
                return
            if op == "ping":
                chan.send({"op": "pong"})
                continue
            if op != "fork":
                continue
            codes, timeout = req["codes"], float(req["timeout"])
            np = sys.modules.get("numpy")
            if np is not None:  # load numpy.random once here: lazily imported in each child, reseeding costs 15 ms
                try:
                    np.random.get_state()
                except Exception:  # noqa: BLE001
                    pass
            gc.freeze()  # children's collections then skip the inherited heap: no copy-on-write storm
            for i, code in enumerate(codes):
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except BaseException:  # noqa: BLE001
                        pass
                pid = os.fork()
                if pid == 0:
                    # ------------------------------------------------------------ candidate process
                    ctl, out, err = fds[3 * i:3 * i + 3]
                    for fd in fds[:3 * i] + fds[3 * i + 3:]:
                        os.close(fd)
                    os.close(wake_r)
                    os.close(wake_w)
                    sock.detach()
                    os.close(chan.rfd)
                    new_sock = socket.socket(fileno=ctl)
                    new_chan = Conn(ctl, sock=new_sock)
                    pending = _candidate_main(new_chan, out, err, cfg, ns, code, timeout)
                    raise _Become(new_chan, new_sock, pending)  # committed: this process holds the state now
                # (no parent-side setpgid: it could race with the child's later move to the parking group)
            for fd in fds[:3 * len(codes)]:
                os.close(fd)
            fds = fds[3 * len(codes):]


def _reap_children():
    """Yield (pid, status) of every child that has ended, without blocking."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        if pid == 0:
            return
        yield pid, status


def _report_exits(chan: Conn) -> None:
    for pid, status in _reap_children():
        chan.send({"op": "exited", "pid": pid, "status": status})


def _candidate_main(chan: Conn, out: int, err: int, cfg: dict, ns: dict, code: str | None,
                    timeout: float) -> list[int]:
    """Run `code` in this (forked) process, report, park; returns (with any descriptors already received for the
    next request) only when committed."""
    global _CURRENT
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    signal.set_wakeup_fd(-1)
    for sig in _S_SIGNALS + (signal.SIGCHLD,):
        if sig == signal.SIGPIPE:
            continue  # Python's own default: a broken pipe raises BrokenPipeError
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the file-size limit raise OSError(EFBIG)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    mb = 1024 * 1024
    _set_limit(resource.RLIMIT_AS, int(cfg["memory_mb"]) * mb if cfg.get("memory_mb") else None)
    _set_limit(resource.RLIMIT_FSIZE, int(cfg["file_size_mb"]) * mb if cfg.get("file_size_mb") else None)
    _set_limit(resource.RLIMIT_NPROC, int(cfg["max_procs"]) if cfg.get("max_procs") else None)
    try:
        cpu = int(float(cfg["timeout"]) + float(cfg["grace"])) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 30))
    except (ValueError, OSError):
        pass
    random.seed()
    np = sys.modules.get("numpy")
    if np is not None:
        try:
            np.random.seed()
        except Exception:  # noqa: BLE001
            pass
    chan.send({"op": "started", "pid": os.getpid()})  # the router learns the pid even if S dies right away
    if code is None:  # a spare forked ahead of time: wait for the code (or EOF when the state moved on)
        msg = chan.recv()
        if msg is None or msg.get("op") != "code":
            os._exit(0)
        code, timeout = str(msg["code"]), float(msg["timeout"])
    _CURRENT = _Candidate(chan, cfg, ns)
    result = _CURRENT.run(code, timeout)
    try:  # leave this action's process group, so one killpg ends whatever the code left running in it
        os.setpgid(0, int(cfg["park_pgid"]))
        result["parked"] = os.getpgrp() == int(cfg["park_pgid"])
    except (OSError, KeyError, TypeError, ValueError):
        result["parked"] = False
    chan.send(result)
    # park: the next message is "become" (commit) or EOF (discard / kill). Read with recvmsg: a "fork" with file
    # descriptors may follow right behind "become", and a plain read() would drop the descriptors.
    fds: list[int] = []
    while True:
        try:
            data, new_fds, _flags, _addr = socket.recv_fds(chan.sock, 1 << 20, 512)
        except InterruptedError:
            continue
        except OSError:
            data, new_fds = b"", []
        if not data:
            os._exit(0)
        chan.buf += data
        fds += new_fds
        if len(chan.buf) < HEADER.size or len(chan.buf) < HEADER.size + HEADER.unpack_from(chan.buf)[0]:
            continue
        (n,) = HEADER.unpack_from(chan.buf)
        msg = json.loads(bytes(chan.buf[HEADER.size:HEADER.size + n]))
        del chan.buf[:HEADER.size + n]
        if msg.get("op") != "become":
            os._exit(0)
        _devnull_stdio()  # committed: this process now holds the state
        return fds


# ----------------------------------------------------------------------------------------------------- router
_NOT_STARTED = "InterpreterError: the state holder died before starting this action"


class _Cand:
    def __init__(self, index: int, ctl: socket.socket, out: int, err: int, timeout: float, grace: float):
        self.index = index
        self.sock = ctl
        self.chan = Conn(ctl.fileno(), sock=ctl)
        self.out, self.err = out, err
        os.set_blocking(out, False)
        os.set_blocking(err, False)
        self.bufs = {out: bytearray(), err: bytearray()}
        self.totals = {out: 0, err: 0}
        self.open_streams = {out, err}
        self.pid = 0
        self.start = time.monotonic()
        self.soft = self.start + timeout
        self.hard = self.start + timeout + grace
        self.timeout = timeout
        self.tool_since: float | None = None
        self.result: dict | None = None
        self.alive = True
        self.ended_at: float | None = None  # channel EOF without a result
        self.status: int | None = None
        self.killed_for_timeout = False

    def arm(self, index: int, timeout: float, grace: float) -> None:
        """Start the clock (a spare gets its code now)."""
        self.index = index
        self.start = time.monotonic()
        self.soft = self.start + timeout
        self.hard = self.start + timeout + grace
        self.timeout = timeout

    def read_stream(self, fd: int, cap: int) -> None:
        while True:
            try:
                data = os.read(fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self.open_streams.discard(fd)
                return
            self.totals[fd] += len(data)
            room = cap - len(self.bufs[fd])
            if room > 0:
                self.bufs[fd] += data[:room]

    def close(self) -> None:
        for fd in (self.out, self.err):
            try:
                os.close(fd)
            except OSError:
                pass
        self.open_streams.clear()
        try:
            self.sock.close()
        except OSError:
            pass


class Router:
    def __init__(self, host: Conn, cfg: dict):
        self.host = host
        self.cfg = cfg
        self.tool_names = list(cfg.get("tools") or [])
        self.cands: list[_Cand] = []
        self.exit_status: dict[int, int] = {}
        self.notice: str | None = None
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        _state_holder_mode()
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        self.cfg["park_pgid"] = os.getpgrp()
        self.s_pid = 0
        self.s_sock: socket.socket | None = None
        self.s_chan: Conn | None = None
        self.spares: list[_Cand] = []  # forked from the current state ahead of the next request, waiting for code
        self.spare_target = 0
        self._spawn_state_holder()

    # state holder ----------------------------------------------------------------------------------------------
    def _spawn_state_holder(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            mine.close()
            signal.set_wakeup_fd(-1)
            os.close(self.wake_r)
            os.close(self.wake_w)
            os.close(self.host.rfd)
            if self.host.wfd != self.host.rfd:
                os.close(self.host.wfd)
            try:
                os.setpgid(0, 0)
            except OSError:
                pass
            if self.cfg.get("workdir"):
                try:
                    os.chdir(self.cfg["workdir"])
                except OSError:
                    pass
            state_holder(Conn(theirs.fileno(), sock=theirs), theirs, self.cfg,
                         _make_namespace(self.tool_names, self.cfg.get("authorized_imports"),
                                         bool(self.cfg.get("reference_errors"))))
            os._exit(0)
        theirs.close()
        self.s_pid = pid
        self.s_sock = mine
        self.s_chan = Conn(mine.fileno(), sock=mine)

    def _drop_state_holder(self, kill: bool) -> None:
        if self.s_chan is not None:
            self.s_chan.send({"op": "exit"})
        if self.s_sock is not None:
            self.s_sock.close()
        if kill and self.s_pid > 0:
            _kill(self.s_pid)
        self.s_sock = self.s_chan = None
        self.s_pid = 0

    # loop helpers ----------------------------------------------------------------------------------------------
    def _reap(self) -> None:
        try:
            os.read(self.wake_r, 4096)
        except OSError:
            pass
        for pid, status in _reap_children():
            self._record_exit(pid, status)

    def _record_exit(self, pid: int, status: int) -> None:
        self.exit_status[pid] = status
        if pid == self.s_pid:
            self.s_pid = -1  # dead: replaced on the next need
        for c in self.cands:
            if c.pid == pid:
                c.status = status

    def _s_messages(self) -> None:
        if self.s_chan is None:
            return
        for msg in self.s_chan.feed():
            if msg.get("op") == "exited":
                self._record_exit(int(msg["pid"]), int(msg["status"]))
        if self.s_chan.eof:
            self.s_sock.close()
            self.s_sock = self.s_chan = None

    def _kill_cands(self, keep: _Cand | None = None) -> None:
        for c in self.cands:
            if c is keep:
                continue
            if c.alive and c.pid:
                _kill(c.pid, group=True)
                _kill(c.pid)
            c.alive = False
            c.close()
        self.cands = [keep] if keep is not None else []

    def _strays(self, cands: list[_Cand]) -> None:
        """Kill what each finished candidate left running in its process group (the candidate stays). A candidate
        that could move itself to the router's group (`parked`) was handled by one killpg when it reported."""
        pgids = {c.pid for c in cands if c.pid and not (c.result or {}).get("parked")}
        if pgids:
            for pid, _ppid, pgid in _proc_table():
                if pgid in pgids and pid not in pgids:
                    _kill(pid)

    # operations ------------------------------------------------------------------------------------------------
    def op_run(self, req: dict) -> dict:
        self._kill_cands()
        codes = [str(c) for c in req["codes"]]
        timeout = float(req.get("timeout") or self.cfg["timeout"])
        grace = float(self.cfg["grace"])
        if not codes:
            return {"op": "results", "results": []}
        if self.cfg.get("prefork", True):
            self.spare_target = min(len(codes), 16)
        if self.s_chan is not None:  # notice a state holder that died since the last request
            ready, _, _ = select.select([self.s_chan.rfd, self.wake_r], [], [], 0)
            if self.wake_r in ready:
                self._reap()
            if self.s_chan.rfd in ready:
                self._s_messages()
        if self.s_chan is None or self.s_pid <= 0:
            self._reset_state("the interpreter's state holder process was killed")
        results = self._run_once(codes, timeout, grace)
        if all(r["error"] == _NOT_STARTED for r in results):  # S died unnoticed just before: once more, fresh
            self._kill_cands()
            self._reset_state("the interpreter's state holder process was killed")
            results = self._run_once(codes, timeout, grace)
        if self.notice:
            for r in results:
                r["notice"] = self.notice
            self.notice = None
        return {"op": "results", "results": results}

    def _new_cands(self, codes: list[str | None], first_index: int, timeout: float, grace: float) -> list[_Cand]:
        """Ask S to fork one process per code (None: a spare that waits for its code)."""
        cands, child_fds = [], []
        for i in range(len(codes)):
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            cands.append(_Cand(first_index + i, a, out_r, err_r, timeout, grace))
            child_fds += [b.detach(), out_w, err_w]
        msg = encode({"op": "fork", "codes": codes, "timeout": timeout})
        try:
            socket.send_fds(self.s_sock, [msg], child_fds)
        except OSError:
            pass  # S died just now: every candidate's channel ends, each reports it
        for fd in child_fds:
            os.close(fd)
        return cands

    def _take_spares(self, n: int) -> list[_Cand]:
        taken = []
        while self.spares and len(taken) < n:
            c = self.spares.pop(0)
            ready, _, _ = select.select([c.chan.rfd], [], [], 0)
            if ready:
                for msg in c.chan.feed():
                    if msg.get("op") == "started":
                        c.pid = int(msg["pid"])
            if c.chan.eof:
                c.alive = False
                c.close()
                continue
            taken.append(c)
        return taken

    def _kill_spares(self) -> None:
        spares, self.spares = self.spares, []
        for c in spares:
            c.close()  # EOF: a spare exits by itself
            if c.pid:
                _kill(c.pid)

    def prefork(self) -> None:
        """Fork spares from the current state so the next request skips the forks (run while the agent's model
        thinks)."""
        n = self.spare_target - len(self.spares)
        if n > 0 and self.s_chan is not None and self.s_pid > 0:
            self.spares += self._new_cands([None] * n, -1, float(self.cfg["timeout"]), float(self.cfg["grace"]))

    def _run_once(self, codes: list[str], timeout: float, grace: float) -> list[dict]:
        cands = self._take_spares(len(codes))
        for i, c in enumerate(cands):
            c.arm(i, timeout, grace)
            c.chan.send({"op": "code", "code": codes[i], "timeout": timeout})
        if len(cands) < len(codes):
            cands += self._new_cands(codes[len(cands):], len(cands), timeout, grace)
        self.cands = cands
        self._loop_until_done(cands)
        self._strays([c for c in cands if c.alive])
        return [self._result(c) for c in cands]

    def _loop_until_done(self, cands: list[_Cand]) -> None:
        cap = int(self.cfg["output_cap"])
        while True:
            pending = [c for c in cands if c.result is None]
            if not pending:
                return
            now = time.monotonic()
            for c in pending:
                if c.tool_since is None and now >= c.hard:
                    c.killed_for_timeout = True
                    _kill(c.pid, group=True)
                    _kill(c.pid)
                    c.alive = False
                    for fd in list(c.open_streams):
                        c.read_stream(fd, cap)
                    c.result = {"error": f"ExecutionTimeout: the code ran longer than the {c.timeout:g} s time limit "
                                f"and did not stop; it was killed", "timed_out": True}
                elif c.ended_at is not None and (c.status is not None or now - c.ended_at > 0.5):
                    for fd in list(c.open_streams):
                        c.read_stream(fd, cap)
                    c.alive = False
                    _kill(c.pid, group=True)
                    if c.pid:
                        c.result = {"error": f"InterpreterExit: {_describe_status(c.status)}"}
                    else:
                        c.result = {"error": _NOT_STARTED}
            pending = [c for c in cands if c.result is None]
            if not pending:
                return
            rfds = [self.host.rfd, self.wake_r]
            if self.s_chan is not None:
                rfds.append(self.s_chan.rfd)
            for c in pending:
                if c.ended_at is None:
                    rfds.append(c.chan.rfd)
                rfds.extend(c.open_streams)
            deadlines = [c.hard for c in pending if c.tool_since is None]
            deadlines += [c.ended_at + 0.5 for c in pending if c.ended_at is not None]
            wait = max(0.0, min(deadlines) - now) if deadlines else None
            try:
                ready, _, _ = select.select(rfds, [], [], wait)
            except InterruptedError:
                continue
            ready = set(ready)
            if self.wake_r in ready:
                self._reap()
            if self.s_chan is not None and self.s_chan.rfd in ready:
                self._s_messages()
            for c in pending:
                for fd in list(c.open_streams):
                    if fd in ready:
                        c.read_stream(fd, cap)
                if c.ended_at is None and c.chan.rfd in ready:
                    for msg in c.chan.feed():
                        self._cand_message(c, msg, cap)
                    if c.chan.eof and c.result is None:
                        c.ended_at = time.monotonic()
            if self.host.rfd in ready:
                for msg in self.host.feed():
                    self._host_message_during_run(cands, msg)
                if self.host.eof:
                    self.shutdown()

    def _cand_message(self, c: _Cand, msg: dict, cap: int) -> None:
        op = msg.get("op")
        if op == "started":
            c.pid = int(msg["pid"])
            if c.pid in self.exit_status:
                c.status = self.exit_status[c.pid]
        elif op == "done":
            for fd in list(c.open_streams):
                c.read_stream(fd, cap)
            c.result = msg
            if msg.get("parked"):
                _kill(c.pid, group=True)  # its old group now holds only what its code left running
        elif op == "tool":
            c.tool_since = time.monotonic()
            self.host.send({"op": "tool", "cand": c.index, "name": msg.get("name"), "args": msg.get("args"),
                            "kwargs": msg.get("kwargs")})

    def _host_message_during_run(self, cands: list[_Cand], msg: dict) -> None:
        if msg.get("op") == "close":
            self.host.send({"op": "closed", "id": msg.get("id")})
            self.shutdown()
        if msg.get("op") != "tool_result":
            return
        i = int(msg.get("cand", -1))
        if not 0 <= i < len(cands):
            return
        c = cands[i]
        if c.tool_since is not None:
            paused = time.monotonic() - c.tool_since
            c.soft += paused
            c.hard += paused
            c.tool_since = None
        c.chan.send({"op": "tool_result", "value": msg.get("value"), "error": msg.get("error")})

    def _result(self, c: _Cand) -> dict:
        cap = int(self.cfg["output_cap"])
        r = dict(c.result or {})
        stdout, t1 = _cap_text(bytes(c.bufs[c.out]), c.totals[c.out], cap)
        if self.cfg.get("reference_errors") and not t1:  # the reference cut print outputs to head + tail
            stdout = _capped_str(stdout, PRINT_OUTPUTS_CAP)
        stderr, t2 = _cap_text(bytes(c.bufs[c.err]), c.totals[c.err], cap)
        committable = c.alive and "op" in r and not r.get("timed_out")  # ran to the end and reported
        return {
            "stdout": stdout, "stderr": stderr, "value": r.get("value"), "error": r.get("error"),
            "wall_ms": r.get("wall_ms", (time.monotonic() - c.start) * 1000.0),
            "truncated": t1 or t2, "final_answer_called": bool(r.get("final_answer_called")),
            "final_answer": r.get("final_answer"), "timed_out": bool(r.get("timed_out")),
            "committable": committable, "last_output": r.get("last_output"),
            "refused_before_running": bool(r.get("refused_before_running")),
        }

    def op_commit(self, req: dict) -> dict:
        i = int(req.get("index", -1))
        chosen = next((c for c in self.cands if c.index == i), None)
        if chosen is None or not self._result(chosen)["committable"]:
            lost = self._discard()
            return {"op": "committed", "committed": False, "notice": lost}
        self._kill_cands(keep=chosen)
        self._kill_spares()  # forked from the old state
        self._drop_state_holder(kill=False)
        for fd in (chosen.out, chosen.err):
            try:
                os.close(fd)
            except OSError:
                pass
        chosen.open_streams.clear()
        chosen.chan.send({"op": "become"})
        self.s_pid = chosen.pid
        self.s_sock = chosen.sock
        self.s_chan = chosen.chan
        self.cands = []
        return {"op": "committed", "committed": True, "notice": None}

    def _s_alive(self) -> bool:
        """Ask S for a pong (a dead S shows as EOF; its exit may not have been reaped yet)."""
        if self.s_chan is None or self.s_pid <= 0 or not self.s_chan.send({"op": "ping"}):
            return False
        deadline = time.monotonic() + 5.0
        while True:
            wait = deadline - time.monotonic()
            ready, _, _ = select.select([self.s_chan.rfd], [], [], max(0.0, wait))
            if not ready:
                return False
            pong = False
            for m in self.s_chan.feed():
                if m.get("op") == "exited":
                    self._record_exit(int(m["pid"]), int(m["status"]))
                pong = pong or m.get("op") == "pong"
            if pong:
                return True
            if self.s_chan.eof:
                self.s_sock.close()
                self.s_sock = self.s_chan = None
                return False

    def _discard(self) -> str | None:
        self._kill_cands()
        if not self._s_alive():
            return self._reset_state("the interpreter's state holder process was killed")
        return None

    def _reset_state(self, why: str) -> str:
        self._kill_spares()
        self._drop_state_holder(kill=True)
        self._spawn_state_holder()
        self.notice = f"{why}; the interpreter was restarted and its variables are lost"
        return self.notice

    def shutdown(self) -> None:
        self._kill_cands()
        self._kill_spares()
        self._drop_state_holder(kill=True)
        me = os.getpid()
        for _ in range(3):
            pids = _descendants(me)
            if not pids:
                break
            for pid in pids:
                _kill(pid)
            time.sleep(0.01)
            self._reap()
        os._exit(0)

    def serve(self) -> None:
        self.host.send({"op": "ready", "pid": os.getpid()})
        while True:
            for msg in self.host._parse():
                self.handle(msg)
            rfds = [self.host.rfd, self.wake_r] + ([self.s_chan.rfd] if self.s_chan is not None else [])
            try:
                ready, _, _ = select.select(rfds, [], [])
            except InterruptedError:
                continue
            if self.wake_r in ready:
                self._reap()
            if self.s_chan is not None and self.s_chan.rfd in ready:
                self._s_messages()
            if self.host.rfd in ready:
                for msg in self.host.feed():
                    self.handle(msg)
                if self.host.eof:
                    self.shutdown()

    def handle(self, msg: dict) -> None:
        op = msg.get("op")
        try:
            if op == "run":
                reply = self.op_run(msg)
            elif op == "commit":
                reply = self.op_commit(msg)
            elif op == "discard":
                reply = {"op": "discarded", "notice": self._discard()}
            elif op == "close":
                self.host.send({"op": "closed"})
                self.shutdown()
            elif op == "ping":
                reply = {"op": "pong"}
            else:
                reply = {"op": "error", "error": f"unknown op {op!r}"}
        except Exception as e:  # noqa: BLE001  (report worker bugs instead of dying silently)
            reply = {"op": "error", "error": "".join(traceback.format_exception(type(e), e, e.__traceback__))}
        if msg.get("id") is not None:
            reply["id"] = msg["id"]
        self.host.send(reply)
        if op in ("commit", "discard"):
            self.prefork()


def interpreter_session(host: Conn, first: dict | None = None) -> None:
    if first is None:
        first = host.recv()
        if first is None:
            os._exit(0)
    cfg = dict(DEFAULTS)
    cfg.update({k: v for k, v in (first.get("config") or {}).items() if v is not None})
    Router(host, cfg).serve()


# ----------------------------------------------------------------------------------------------------- spawner
def _exec_request(conn: Conn, req: dict) -> None:
    cmd = req["cmd"]
    data = base64.b64decode(req["input"]) if req.get("input") is not None else None
    env = dict(os.environ)
    env.update(req.get("env") or {})
    cwd = req.get("cwd") or None
    limit = int(req.get("output_limit") or 10 * 1024 * 1024)
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env,
                                start_new_session=True)
    except OSError as e:
        conn.send({"returncode": 126 if isinstance(e, PermissionError) else 127, "stdout": "",
                   "stderr": base64.b64encode(str(e).encode()).decode()})
        return
    try:
        out, err = proc.communicate(data, timeout=req.get("timeout"))
    except subprocess.TimeoutExpired:
        _kill(proc.pid, group=True)
        proc.communicate()
        conn.send({"timeout": True})
        return
    _kill(proc.pid, group=True)
    conn.send({"returncode": proc.returncode, "stdout": base64.b64encode(out[-limit:]).decode(),
               "stderr": base64.b64encode(err[-limit:]).decode()})


def _file_request(conn: Conn, req: dict) -> None:
    path = req["path"]
    try:
        if req["op"] == "read_file":
            if os.path.isdir(path):
                raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
            with open(path, "rb") as f:
                conn.send({"data": base64.b64encode(f.read()).decode()})
        else:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(path, "wb") as f:
                f.write(base64.b64decode(req["data"]))
            conn.send({"ok": True})
    except OSError as e:
        conn.send({"error": type(e).__name__, "errno": e.errno, "message": str(e)})


def handle_connection(conn: Conn) -> None:
    req = conn.recv()
    if req is None:
        return
    op = req.get("op")
    if op == "init":
        interpreter_session(conn, req)
    elif op == "exec":
        _exec_request(conn, req)
    elif op in ("read_file", "write_file"):
        _file_request(conn, req)
    elif op == "ping":
        conn.send({"op": "pong", "pid": os.getpid()})


def serve(listen_fd: int) -> None:
    listener = socket.socket(fileno=listen_fd)
    listener.set_inheritable(False)
    _state_holder_mode()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # auto-reap handlers
    while True:
        try:
            client, _ = listener.accept()
        except InterruptedError:
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            fd = client.detach()
            try:
                handle_connection(Conn(fd))
            finally:
                os._exit(0)
        client.close()


def listen_unix(path: str) -> int:
    """A listening Unix socket at `path`, as a file descriptor. Anyone who can reach the path may connect: the host
    keeps the directory it lives in private to itself."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o666)  # a host user other than the sandbox's uid connects too (connect needs write permission)
    listener.listen(64)
    return listener.detach()


ADDR_NO_RANDOMIZE = 0x0040000  # personality(2)
_REEXEC_FLAG = "AGENTDISTILL_SANDBOX_REEXEC"


def _address_randomisation_off() -> bool:
    """personality(2) with ADDR_NO_RANDOMIZE for the next exec: no privilege needed, but Docker's
    default seccomp profile refuses it (then False)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        current = libc.personality(0xFFFFFFFF)
        return current != -1 and libc.personality(current | ADDR_NO_RANDOMIZE) != -1
    except Exception:
        return False


def _reproducible_process() -> None:
    """Re-exec this interpreter once with str hashing fixed and, where the kernel lets it,
    address-space randomisation off, so the same code prints the same thing on every run: set
    order follows hashes and reprs carry addresses (`<function f at 0x7f...>`), and both reach
    the model's observations (CI's regression compares whole trajectories). Under bubblewrap both
    hold; in a Docker container (seccomp) addresses still vary. Not when the worker was not started
    from its file (its source fed through stdin to `python -c`: inspect's docker exec path)."""
    script = sys.argv[0] if sys.argv else ""
    if os.environ.get(_REEXEC_FLAG) or not os.path.isfile(script) or os.path.realpath(script) != os.path.realpath(__file__):
        return
    os.environ[_REEXEC_FLAG] = "1"
    if _address_randomisation_off() or os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        # inherited descriptors (the listening socket of --serve, stdio) stay open across exec
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def main(argv: list[str]) -> None:
    _reproducible_process()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    if len(argv) >= 2 and argv[0] in ("--serve", "--listen"):
        listen_fd = int(argv[1]) if argv[0] == "--serve" else listen_unix(argv[1])  # a failure still shows on stderr
        _devnull_stdio()
        sys.stdout.reconfigure(line_buffering=True)
        serve(listen_fd)
        return
    # stdio session: move the protocol off 0/1, point 0/1/2 at /dev/null
    rfd = os.dup(0)
    wfd = os.dup(1)
    _devnull_stdio()
    sys.stdout.reconfigure(line_buffering=True)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    interpreter_session(Conn(rfd, wfd))


if __name__ == "__main__":
    main(sys.argv[1:])
