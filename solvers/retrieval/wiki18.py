"""The paper's corpus at scale: Wikipedia 2018 (21M passages) with its e5-base-v2 faiss index.

    agentdistill prepare-wiki18 --dir /data/wiki18 [--hnsw 64] [--no-download]
    AGENTDISTILL_RETRIEVER=wiki18:/data/wiki18 inspect eval ...

Published files (Hugging Face datasets, as Search-R1 and the reference implementation use them):
  PeterJinGo/wiki-18-corpus     wiki-18.jsonl.gz: one {"id": "0", "contents": "\\"Title\\"\\ntext"} a line
  PeterJinGo/wiki-18-e5-index   part_aa, part_ab: byte chunks of one faiss IndexFlatIP file, concatenated
                                in name order into e5_Flat.index (vector i = corpus line i; e5-base-v2
                                passage embeddings, mean pooled, normalised, "passage: " prefix)

Preparing: download (skipped for files already there), concatenate the parts, decompress the
corpus, index the corpus's line offsets, check vector count against line count, optionally
build an HNSW index for CPU users (`--hnsw M`), and write `wiki18.json` last. Loading: the
index is memory-mapped (faiss IO_FLAG_MMAP_IFC: the Flat codes stay on disk, pages come in as
searched; plain IO_FLAG_MMAP reads a Flat index fully into RAM in faiss 1.15), and with
`gpu=True` (default: when faiss sees GPUs) it is sharded across all GPUs in fp16.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import faiss

from .corpus import LineOffsetCorpus, quick_fingerprint

log = logging.getLogger(__name__)

CORPUS_REPO = "PeterJinGo/wiki-18-corpus"
INDEX_REPO = "PeterJinGo/wiki-18-e5-index"
CORPUS_GZ = "wiki-18.jsonl.gz"
CORPUS_FILE = "wiki-18.jsonl"
FLAT_INDEX = "e5_Flat.index"
PART_PREFIX = "part_"
DEFAULT_PARTS = ("part_aa", "part_ab")
ENCODER_HUB_ID = "intfloat/e5-base-v2"
ENCODER_DIR = "e5-base-v2"  # a local copy inside the wiki-18 folder, used when present
MANIFEST = "wiki18.json"
MMAP_FLAGS = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY


def hnsw_name(m: int) -> str:
    return f"e5_HNSW{m}.index"


# -- downloading ------------------------------------------------------------------------

Downloader = Callable[[str, str, Path], Path]


def hub_download(repo_id: str, filename: str, local_dir: Path) -> Path:
    """One file of a Hugging Face dataset repo into local_dir (resumable; needs network)."""
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo_id=repo_id, filename=filename, repo_type="dataset", local_dir=str(local_dir)))


def hub_index_parts(repo_id: str = INDEX_REPO) -> list[str]:
    try:
        from huggingface_hub import list_repo_files

        parts = sorted(f for f in list_repo_files(repo_id, repo_type="dataset") if f.startswith(PART_PREFIX))
        return parts or list(DEFAULT_PARTS)
    except Exception as exc:  # noqa: BLE001 - listing is a nicety; the published names are known
        log.warning("could not list %s (%s); using %s", repo_id, exc, DEFAULT_PARTS)
        return list(DEFAULT_PARTS)


def download_encoder(folder: Path) -> Path:
    from huggingface_hub import snapshot_download

    target = folder / ENCODER_DIR
    snapshot_download(ENCODER_HUB_ID, local_dir=str(target),
                      allow_patterns=["*.json", "*.txt", "*.safetensors", "*.model"])
    return target


# -- assembling ---------------------------------------------------------------------------

def concat_parts(parts: list[Path], target: Path) -> Path:
    """Concatenate index parts (in name order) into target, atomically."""
    tmp = target.with_name(target.name + ".partial")
    with open(tmp, "wb") as out:
        for part in sorted(parts, key=lambda p: p.name):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 16 << 20)
    os.replace(tmp, target)
    return target


def gunzip(source: Path, target: Path) -> Path:
    tmp = target.with_name(target.name + ".partial")
    with gzip.open(source, "rb") as f, open(tmp, "wb") as out:
        shutil.copyfileobj(f, out, 16 << 20)
    os.replace(tmp, target)
    return target


def read_index(path: Path, mmap: bool = True) -> "faiss.Index":
    return faiss.read_index(str(path), MMAP_FLAGS if mmap else 0)


def build_hnsw(flat_path: Path, target: Path, m: int = 64, ef_construction: int = 128,
               chunk: int = 100_000) -> Path:
    """HNSW (inner product) from a Flat index, streamed from the memory-mapped Flat in chunks."""
    flat = read_index(flat_path)
    hnsw = faiss.IndexHNSWFlat(flat.d, m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = ef_construction
    start = time.perf_counter()
    for lo in range(0, flat.ntotal, chunk):
        n = min(chunk, flat.ntotal - lo)
        hnsw.add(flat.reconstruct_n(lo, n))
        log.info("HNSW: %d/%d vectors (%.0fs)", lo + n, flat.ntotal, time.perf_counter() - start)
    tmp = target.with_name(target.name + ".partial")
    faiss.write_index(hnsw, str(tmp))
    os.replace(tmp, target)
    return target


def prepare(folder: str | os.PathLike, download: bool = True, hnsw_m: int | None = None,
            keep_parts: bool = False, with_encoder: bool = False, downloader: Downloader = hub_download,
            list_parts: Callable[[], list[str]] = hub_index_parts) -> dict:
    """Make `folder` ready for `wiki18:<folder>`; returns the manifest written to wiki18.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    flat_path, corpus_path = folder / FLAT_INDEX, folder / CORPUS_FILE

    if not flat_path.exists():
        parts = sorted(folder.glob(PART_PREFIX + "*"))
        if download:
            names = list_parts()
            parts = [p if (p := folder / n).exists() else downloader(INDEX_REPO, n, folder) for n in names]
        if not parts:
            raise FileNotFoundError(f"no {FLAT_INDEX} and no {PART_PREFIX}* files in {folder} (run without --no-download)")
        log.info("concatenating %s -> %s", [p.name for p in parts], flat_path)
        concat_parts(parts, flat_path)
        if not keep_parts:
            for p in parts:
                p.unlink()
    if not corpus_path.exists():
        gz = folder / CORPUS_GZ
        if not gz.exists():
            if not download:
                raise FileNotFoundError(f"no {CORPUS_FILE} or {CORPUS_GZ} in {folder}")
            gz = downloader(CORPUS_REPO, CORPUS_GZ, folder)
        log.info("decompressing %s", gz)
        gunzip(gz, corpus_path)
    if with_encoder and not (folder / ENCODER_DIR).exists():
        download_encoder(folder)

    corpus = LineOffsetCorpus.open(corpus_path)
    index = read_index(flat_path)
    if index.ntotal != len(corpus):
        raise ValueError(f"{FLAT_INDEX} holds {index.ntotal} vectors but {CORPUS_FILE} has {len(corpus)} lines")
    indexes = {FLAT_INDEX: {"type": type(index).__name__, "ntotal": int(index.ntotal), "d": int(index.d)}}
    if hnsw_m:
        path = folder / hnsw_name(hnsw_m)
        if not path.exists():
            build_hnsw(flat_path, path, m=hnsw_m)
        indexes[path.name] = {"type": "IndexHNSWFlat", "M": hnsw_m, "ntotal": int(index.ntotal), "d": int(index.d)}
    manifest = {
        "corpus": {"file": CORPUS_FILE, "lines": len(corpus), "fingerprint": corpus.fingerprint},
        "indexes": {name: {**info, "fingerprint": quick_fingerprint(folder / name)} for name, info in indexes.items()},
        "encoder": ENCODER_HUB_ID, "sources": [CORPUS_REPO, INDEX_REPO],
    }
    tmp = folder / (MANIFEST + ".partial")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, folder / MANIFEST)
    return manifest


# -- loading ------------------------------------------------------------------------------

def pick_index(folder: Path, name: str | None = None) -> Path:
    if name:
        return folder / name
    hnsw = sorted(folder.glob("e5_HNSW*.index"))
    flat = folder / FLAT_INDEX
    # Flat on GPUs (exact, the paper's); HNSW on CPU when it was built (a 64 GB Flat scan per query is slow).
    if flat.exists() and (faiss_gpus() > 0 or not hnsw):
        return flat
    if hnsw:
        return hnsw[0]
    raise FileNotFoundError(f"no faiss index in {folder}: run `agentdistill prepare-wiki18 --dir {folder}`")


def faiss_gpus() -> int:
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get else 0


def to_gpus(index: "faiss.Index") -> "faiss.Index":
    """Shard the index across all GPUs faiss sees (fp16 codes, halves memory)."""
    options = faiss.GpuMultipleClonerOptions()
    options.shard = True
    options.useFloat16 = True
    return faiss.index_cpu_to_all_gpus(index, co=options)


def open_wiki18(folder: str | os.PathLike, encoder=None, index_name: str | None = None,
                gpu: bool | None = None, ef_search: int = 256):
    """A DenseRetriever over a prepared wiki-18 folder (spec `wiki18:<folder>`)."""
    from .dense import DenseRetriever, Encoder

    folder = Path(folder).expanduser()
    if not (folder / MANIFEST).exists():
        raise FileNotFoundError(f"{folder} is not a prepared wiki-18 folder (no {MANIFEST}): "
                                f"run `agentdistill prepare-wiki18 --dir {folder}`")
    manifest = json.loads((folder / MANIFEST).read_text())
    path = pick_index(folder, index_name)
    index = read_index(path)
    info = manifest.get("indexes", {}).get(path.name)
    if info and info.get("ntotal") != index.ntotal:
        raise ValueError(f"{path} has {index.ntotal} vectors, manifest says {info.get('ntotal')}: re-run prepare")
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = ef_search
    if gpu is None:
        gpu = faiss_gpus() > 0
    if gpu and isinstance(index, faiss.IndexHNSW):
        log.warning("faiss GPUs do not take HNSW indexes: searching %s on the CPU", path.name)
        gpu = False
    if gpu:
        index = to_gpus(index)
    if encoder is None:
        local = folder / ENCODER_DIR
        encoder = str(local) if local.exists() else manifest.get("encoder", ENCODER_HUB_ID)
    enc = encoder if isinstance(encoder, Encoder) else Encoder(encoder)
    corpus = LineOffsetCorpus.open(folder / CORPUS_FILE)
    retriever = DenseRetriever(corpus, index, enc)
    retriever.name = f"wiki18:{path.name}"
    return retriever


# -- command ------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="agentdistill prepare-wiki18",
        description="Download and prepare Wikipedia-2018 + its e5-base-v2 faiss index (about 14 GB corpus, "
                    "64 GB index; needs network and disk), for the spec wiki18:<dir>.")
    parser.add_argument("--dir", required=True, help="target folder")
    parser.add_argument("--no-download", action="store_true",
                        help="only assemble files already in --dir (part_*, wiki-18.jsonl.gz)")
    parser.add_argument("--hnsw", type=int, metavar="M", default=None,
                        help="also build e5_HNSW<M>.index for CPU search (e.g. 64; hours, ~70 GB RAM)")
    parser.add_argument("--keep-parts", action="store_true", help="keep part_* after concatenating")
    parser.add_argument("--with-encoder", action="store_true",
                        help=f"also download {ENCODER_HUB_ID} into <dir>/{ENCODER_DIR} for offline use")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.no_download and os.environ.get("HF_HUB_OFFLINE") == "1":
        print("HF_HUB_OFFLINE=1 is set: unset it for the download (or pass --no-download)", file=sys.stderr)
        return 2
    manifest = prepare(args.dir, download=not args.no_download, hnsw_m=args.hnsw, keep_parts=args.keep_parts,
                       with_encoder=args.with_encoder)
    print(json.dumps(manifest, indent=1))
    print(f"\nready: AGENTDISTILL_RETRIEVER=wiki18:{Path(args.dir).resolve()}")
    return 0
