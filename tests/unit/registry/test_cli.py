"""`quoteflow models` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from quoteflow.cli import main
from quoteflow.registry import Registry
from quoteflow.registry.store import REQUIRED_METADATA


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    r = Registry(tmp_path)
    for i in (1, 2):
        r.register("motor", f"onnx-{i}".encode(),
                   {k: {} for k in REQUIRED_METADATA} | {"model_type": "poisson_glm"})
    return r


def run(reg: Registry, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["models", "--registry", str(reg.root), *args], env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize("cmd", [["models"], ["models", "list"], ["models", "show"],
                                 ["models", "promote"], ["models", "archive"]])
def test_help_on_every_command(cmd: list[str]) -> None:
    result = CliRunner().invoke(main, [*cmd, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_list_show_promote_archive_rollback(reg: Registry) -> None:
    code, out = run(reg, "list")
    assert code == 0 and "motor" in out and "None" in out
    code, out = run(reg, "promote", "motor", "1", "--to", "Staging", "--reason", "ok",
                    "--actor", "alice")
    assert code == 0 and "motor:1 None -> Staging by alice" in out
    run(reg, "promote", "motor", "1", "--to", "Production", "--reason", "go", "--actor", "alice")
    run(reg, "promote", "motor", "2", "--to", "Staging", "--reason", "c", "--actor", "bob")
    run(reg, "promote", "motor", "2", "--to", "Production", "--reason", "b", "--actor", "bob")
    code, out = run(reg, "promote", "motor", "1", "--to", "Production", "--reason", "rollback",
                    env={"USER": "carol"})
    assert code == 0 and "motor:2 Production -> Archived by carol" in out
    assert reg.stages("motor") == {"1": "Production", "2": "Archived"}
    code, out = run(reg, "show", "motor@production")
    assert code == 0 and "motor:1  stage Production" in out and "(verified)" in out
    assert "Archived -> Production  by carol: rollback" in out
    code, out = run(reg, "archive", "motor", "1", "--reason", "retired", "--actor", "dan")
    assert code == 0 and reg.stage_of("motor", "1") == "Archived"


def test_cli_errors_are_clear(reg: Registry) -> None:
    code, out = run(reg, "promote", "motor", "1", "--to", "Production", "--reason", "x",
                    "--actor", "a")
    assert code == 1 and "is in None; it can move to Archived, Staging" in out
    code, out = run(reg, "promote", "motor", "1", "--to", "Staging")
    assert code == 2 and "--reason" in out
    code, out = run(reg, "promote", "motor", "1", "--to", "Archived", "--reason", "x")
    assert code == 2
    path = reg.get("motor", "2").onnx_path
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    code, out = run(reg, "show", "motor:2")
    assert code == 1 and "modified after registration" in out


def test_a_scheduled_promotion_is_in_the_audit_and_moves_nothing_now(reg: Registry) -> None:
    for stage in ("Staging", "Production"):
        run(reg, "promote", "motor", "1", "--to", stage, "--reason", "v1", "--actor", "a")
    code, out = run(reg, "promote", "motor", "2", "--to", "Production", "--effective",
                    "2027-01-01T00:00:00+01:00", "--reason", "January's tariff", "--actor", "ana")
    assert code == 0, out
    assert "motor:2 scheduled for Production from 2026-12-31T23:00:00Z by ana" in out
    assert "quoteflow traffic schedule --model motor --effective 2026-12-31T23:00:00Z " \
           "--blue 2" in out
    assert reg.stages("motor") == {"1": "Production", "2": "None"}  # v1 prices until then
    event = reg.audit("motor")[-1]
    assert (event["event"], event["actor"], event["reason"], event["evidence"]) == (
        "scheduled", "ana", "January's tariff",
        {"to": "Production", "effective": "2026-12-31T23:00:00Z"})
    code, out = run(reg, "promote", "motor", "2", "--to", "Staging", "--effective",
                    "2027-01-01", "--reason", "x")
    assert code != 0 and "goes with --to Production" in out
    code, out = run(reg, "promote", "motor", "2", "--to", "Production", "--effective",
                    "2027-01-01T00:00", "--reason", "x")
    assert code != 0 and "no time zone" in out
