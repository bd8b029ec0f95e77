"""Every image the Dockerfile defines is built everywhere images are built: CI's image
matrix, these image tests, skaffold and scripts/build-images.sh (a file check, no build)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.images.podman import TARGETS

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_images() -> list[str]:
    """The stages that are images (they carry an OCI title), not build steps (deps-*,
    wheel, trained)."""
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, re.M)
    titled = re.findall(r"image\.title=quoteflow-([\w-]+)", text)
    assert set(titled) <= set(stages), titled
    return sorted(titled)


def test_the_dockerfile_has_the_service_images() -> None:
    assert {"preprocess", "inference", "router", "desk", "training", "models"} \
        <= set(dockerfile_images())


def test_ci_matrix_builds_every_image() -> None:
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yaml").read_text())
    matrix = ci["jobs"]["images"]["strategy"]["matrix"]["target"]
    assert sorted(matrix) == dockerfile_images()
    checks = ci["jobs"]["images"]["steps"][-1]["run"]
    missing = [t for t in matrix if f"  {t}) docker run" not in checks]
    assert not missing, f"no smoke check in ci.yaml for {missing}"


def test_image_tests_skaffold_and_build_script_build_every_image() -> None:
    assert sorted(TARGETS) == dockerfile_images()
    skaffold = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
    assert sorted(a["docker"]["target"] for a in skaffold["build"]["artifacts"]) \
        == dockerfile_images()
    script = (ROOT / "scripts" / "build-images.sh").read_text()
    loop = re.search(r"^for target in ([\w ]+); do$", script, re.M)
    assert loop and sorted(loop.group(1).split()) == dockerfile_images()
