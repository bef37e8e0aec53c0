"""The output folder of `agentdistill train`: a finished adapter is never replaced without `--overwrite`, and
`--resume` continues only the run that wrote the folder, from a checkpoint of that same run.

Each run writes `agentdistill_run.json` (a run id, the data's sha256, the base model, the LoRA shape) into the
folder before training and into every checkpoint it saves, so a checkpoint left by an older run is recognised: the
old trainer picked the highest-numbered `checkpoint-*`, which could be a previous run's, and wrote its weights as the
new adapter.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from agentdistill.core.errors import InputError
from agentdistill.core.paths import TRAIN_INFO_FILE, sha256_file, write_text_atomic

RUN_FILE = "agentdistill_run.json"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin", TRAIN_INFO_FILE)
# what must match for --resume to continue a run (the rest, e.g. --threads or --save_steps, may change)
SAME_RUN_KEYS = ("data_sha256", "base", "lora_r", "lora_alpha", "lora_dropout", "max_length")


def _checkpoints(out: Path) -> list[Path]:
    found = [p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-", 1)[1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-", 1)[1]))


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as ex:
        raise InputError(f"{path}: not valid JSON ({ex}); use --overwrite to start the run over") from None


def run_identity(data: str | Path, model_args: Any, max_length: int | None) -> dict[str, Any]:
    """What names a run: its data (path and sha256), base model, LoRA shape (TRL's ModelConfig) and max length."""
    return {"data_sha256": sha256_file(data), "data": str(Path(data).resolve()), "base": model_args.model_name_or_path,
            "lora_r": model_args.lora_r, "lora_alpha": model_args.lora_alpha, "lora_dropout": model_args.lora_dropout,
            "max_length": max_length}


def prepare_output(out: Path, identity: dict[str, Any], *, resume: bool, overwrite: bool) -> dict[str, Any]:
    """Check the output folder before any work and return this run's marker (written into the folder).

    Refuses (InputError): a folder holding a finished adapter or another run's checkpoints without --overwrite or
    --resume; --resume of a run on other data, base or LoRA shape. --overwrite removes the old run's adapter,
    checkpoints and marker (said on stderr) so none of them can be mistaken for the new run's.
    """
    if resume and overwrite:
        raise InputError("--resume and --overwrite: give one (continue the run in --output_dir, or replace it)")
    finished = [name for name in ADAPTER_FILES if (out / name).exists()]
    checkpoints = _checkpoints(out)
    marker = _read_marker(out / RUN_FILE)
    if resume and marker is not None:
        changed = [key for key in SAME_RUN_KEYS if marker.get(key) != identity[key]]
        if changed:
            what = ", ".join(f"{key} {marker.get(key)!r} -> {identity[key]!r}" for key in changed)
            raise InputError(f"--resume: the run in {out} differs from this command ({what}); resume it with its own "
                             "arguments, or pass --overwrite to start a new run there")
        return marker
    if resume and checkpoints:
        raise InputError(f"--resume: {out} holds {checkpoints[-1].name} but no {RUN_FILE} saying which run wrote it, "
                         "so it may be a previous run's; pass --overwrite to start over there")
    if finished or checkpoints or marker is not None:
        held = (f"a finished adapter ({', '.join(finished)})" if finished
                else f"an unfinished run ({', '.join(p.name for p in checkpoints) or RUN_FILE})")
        if not overwrite:
            raise InputError(f"--output_dir {out} already holds {held}; pass --resume to continue that run, "
                             "--overwrite to replace it, or choose another folder")
        for path in checkpoints:
            shutil.rmtree(path)
        for name in (*ADAPTER_FILES, RUN_FILE):
            (out / name).unlink(missing_ok=True)
        print(f"--overwrite: removed {held} from {out}", file=sys.stderr)
    marker = {"run_id": uuid.uuid4().hex, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **identity}
    write_text_atomic(out / RUN_FILE, json.dumps(marker, indent=2))
    return marker


def run_checkpoint(out: Path, marker: dict[str, Any]) -> str | None:
    """The last checkpoint this run saved, or None; a checkpoint of any other run is refused, never picked."""
    ours = None
    for path in _checkpoints(out):
        written = _read_marker(path / RUN_FILE)
        if written is None or written.get("run_id") != marker["run_id"]:
            raise InputError(f"--resume: {path} was not saved by the run in {out} (run {marker['run_id']}); "
                             "remove it, or pass --overwrite to start over")
        ours = str(path)
    return ours


def marker_callback(marker: dict[str, Any]) -> Any:
    """A transformers TrainerCallback that stamps every saved checkpoint with this run's marker."""
    from transformers import TrainerCallback

    class RunMarker(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001 - transformers' callback signature
            checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if state.is_world_process_zero and checkpoint.is_dir():
                write_text_atomic(checkpoint / RUN_FILE, json.dumps(marker, indent=2))
            return control

    return RunMarker()
