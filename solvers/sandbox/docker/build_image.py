#!/usr/bin/env python3
"""Build the sandbox image (`image:` of compose.yaml) on a Docker engine with no registry at all.

    sudo .venv/bin/python solvers/sandbox/docker/build_image.py [--force]

1. A minimal Debian root filesystem (debootstrap, variant minbase, plus python3 and pip) from the mirror and suite
   apt on this machine is configured with (read from apt itself at run time, never stored in the repository),
   imported into the engine as the base image `agentdistill-debian-base:<suite>-<key>`;
2. the project's Dockerfile on top of it (`--build-arg BASE=<that image>`, classic builder: a local `FROM` image
   needs no registry), from a temporary build context holding the Dockerfile, requirements.txt and their wheels,
   downloaded by the host's own pip (its index, proxy and certificate settings apply): the build itself runs
   pip offline (`--no-index`).

Cached: each image carries a label with the hash of what made it; a run whose hash matches the existing image
does nothing (seconds). Step 1 needs root (debootstrap chroots) and runs only when the base image is missing.
The engine is the one the Docker SDK finds (`DOCKER_HOST`, else the default socket).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import yaml

HERE = Path(__file__).resolve().parent
COMPOSE_FILE = HERE / "compose.yaml"
DOCKERFILE = HERE / "Dockerfile"
REQUIREMENTS = HERE / "requirements.txt"
BASE_REPOSITORY = "agentdistill-debian-base"
LABEL = "org.agentdistill.content"
DEBOOTSTRAP_VARIANT = "minbase"
DEBOOTSTRAP_INCLUDE = ("python3", "python3-pip", "passwd")
# Parts of the root filesystem nothing in the sandbox reads; dropped to keep the image (and, with the vfs storage
# driver, every container's copy of it) small.
TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt", "var/lib/apt/lists")


class BuildError(RuntimeError):
    pass


def image_name() -> str:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]["default"]["image"]


def apt_source() -> tuple[str, str]:
    """(mirror URI, suite) of the main Debian archive apt is configured with, asked from apt at run time."""
    try:
        out = subprocess.run(["apt-get", "indextargets", "--format", "$(REPO_URI)\t$(RELEASE)\t$(COMPONENT)"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise BuildError(f"cannot ask apt for its sources (`apt-get indextargets`): {e}") from e
    for line in out.splitlines():
        uri, suite, component = (line.split("\t") + ["", "", ""])[:3]
        # the main archive: component main, a plain suite name (bookworm-updates, -security, -backports are extras)
        if component == "main" and suite and "-" not in suite and uri.startswith(("http://", "https://", "file:")):
            return uri, suite
    raise BuildError("apt has no Debian `main` suite configured (apt-get indextargets); set up apt sources first")


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def find_image(client: docker.DockerClient, name: str) -> docker.models.images.Image | None:
    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        return None


def debootstrap_base(client: docker.DockerClient, tag: str, key: str, mirror: str, suite: str) -> None:
    if os.geteuid() != 0:
        raise BuildError(f"the base image {tag} is missing and making it needs root (debootstrap chroots): "
                         f"run this script as root once")
    if shutil.which("debootstrap") is None:
        raise BuildError("the base image is missing and debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="agentdistill-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        cmd = ["debootstrap", f"--variant={DEBOOTSTRAP_VARIANT}", f"--include={','.join(DEBOOTSTRAP_INCLUDE)}",
               suite, str(rootfs), mirror]
        print("+", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if proc.returncode != 0:
            raise BuildError(f"debootstrap failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
        for part in TRIM:
            target = rootfs / part
            if target.is_dir():
                shutil.rmtree(target)
                target.mkdir()
        tar = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tar), "."], check=True)
        print(f"importing {tar.stat().st_size / 1e6:.0f} MB root filesystem as {tag}", flush=True)
        repository, version = tag.rsplit(":", 1)
        client.api.import_image_from_file(
            str(tar), repository=repository, tag=version,
            changes=[f"LABEL {LABEL}={key}", "ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]'])


def download_wheels(client: docker.DockerClient, base: str, dest: Path, say) -> None:
    """Wheels of requirements.txt for the base image's Python and this machine's architecture, by the host's pip."""
    version = client.containers.run(base, ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                    network_mode="none", remove=True).decode().strip()
    arch = platform.machine()
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--python-version", version,
           "--implementation", "cp", "--platform", f"manylinux_2_28_{arch}", "--platform", f"manylinux2014_{arch}",
           "-r", str(REQUIREMENTS), "-d", str(dest)]
    say(f"downloading wheels for Python {version} ({arch}) with the host's pip")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"pip download failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def build(force: bool = False, quiet: bool = False) -> str:
    """Make sure the sandbox image exists with the current content; return its name."""
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    client = docker.from_env()
    try:
        client.ping()
    except docker.errors.DockerException as e:
        raise BuildError(f"no Docker engine answers (DOCKER_HOST={os.environ.get('DOCKER_HOST', 'default')}): {e}")
    name = image_name()
    mirror, suite = apt_source()
    base_key = digest(suite, DEBOOTSTRAP_VARIANT, *DEBOOTSTRAP_INCLUDE, *TRIM)
    key = digest(base_key, DOCKERFILE.read_bytes(), REQUIREMENTS.read_bytes())
    image = find_image(client, name)
    if image is not None and image.labels.get(LABEL) == key and not force:
        say(f"{name} is up to date ({LABEL}={key[:12]})")
        return name
    base = f"{BASE_REPOSITORY}:{suite}-{base_key[:12]}"
    if find_image(client, base) is None or force:
        t0 = time.perf_counter()
        debootstrap_base(client, base, base_key, mirror, suite)
        say(f"base image {base}: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    say(f"building {name} from {DOCKERFILE} on {base}")
    with tempfile.TemporaryDirectory(prefix="agentdistill-build-") as context:
        shutil.copy(DOCKERFILE, context)
        shutil.copy(REQUIREMENTS, context)
        download_wheels(client, base, Path(context) / "wheels", say)
        # the classic builder (what the API's /build runs): a local FROM needs no registry; pip installs offline
        stream = client.api.build(
            path=context, dockerfile=DOCKERFILE.name, tag=name, labels={LABEL: key}, network_mode="none",
            buildargs={"BASE": base, "PIP_OPTIONS": "--no-index --find-links /tmp/build-context/wheels"},
            rm=True, forcerm=True, decode=True)
        for chunk in stream:
            if "error" in chunk:
                raise BuildError(f"docker build failed: {chunk['error']}")
            text = chunk.get("stream", "")
            if text.strip():
                say(text.rstrip())
    if find_image(client, name) is None:
        raise BuildError(f"docker build finished but {name} is not in the engine")
    say(f"image {name}: {time.perf_counter() - t0:.1f} s")
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild both images even when up to date")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        name = build(force=args.force)
    except BuildError as e:
        print(f"build_image: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"image": name, "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
