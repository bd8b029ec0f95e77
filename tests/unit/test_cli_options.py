"""Client variables: QUOTEFLOW_CLI_*, the old names read for one release with a warning;
the shared options are defined once."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from quoteflow import cli_options
from quoteflow.cli import main
from quoteflow.cli_options import (
    ADMIN_TOKEN_ENV,
    OLD_NAMES,
    PROMETHEUS_URL_ENV,
    ROUTER_URLS_ENV,
    client_env,
    read_admin_token,
    read_router_urls,
)

OLD = {new: old for new, old in OLD_NAMES.items()}


@pytest.fixture(autouse=True)
def no_client_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*OLD_NAMES, *OLD_NAMES.values()]:
        monkeypatch.delenv(name, raising=False)


def test_client_variables_have_the_client_prefix_and_no_service_s() -> None:
    services = ("QUOTEFLOW_ROUTER_", "QUOTEFLOW_PREPROCESS_", "QUOTEFLOW_INFERENCE_",
                "QUOTEFLOW_DESK_")
    assert set(OLD_NAMES) == {ROUTER_URLS_ENV, ADMIN_TOKEN_ENV, PROMETHEUS_URL_ENV}
    for name in OLD_NAMES:
        assert name.startswith("QUOTEFLOW_CLI_") and not name.startswith(services)


def test_the_new_names_are_read_without_a_warning(monkeypatch: pytest.MonkeyPatch,
                                                  recwarn: pytest.WarningsRecorder,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(ROUTER_URLS_ENV, "http://a:1 http://b:2")
    monkeypatch.setenv(ADMIN_TOKEN_ENV, "new-token")
    assert read_router_urls(Path("/nonexistent")) == ["http://a:1", "http://b:2"]
    assert read_admin_token() == "new-token"
    assert not [w for w in recwarn if w.category is DeprecationWarning]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("new", sorted(OLD_NAMES))
def test_an_old_name_still_works_for_one_release_and_says_so(
        new: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(OLD[new], "value")
    with pytest.warns(DeprecationWarning, match=f"\\${OLD[new]} is deprecated.*\\${new}"):
        assert client_env(new) == "value"
    assert f"${OLD[new]} is deprecated" in capsys.readouterr().err


def test_the_new_name_wins_over_the_old(monkeypatch: pytest.MonkeyPatch,
                                        recwarn: pytest.WarningsRecorder) -> None:
    monkeypatch.setenv(ADMIN_TOKEN_ENV, "new")
    monkeypatch.setenv("QUOTEFLOW_ADMIN_TOKEN", "old")
    assert read_admin_token() == "new"
    assert not [w for w in recwarn if w.category is DeprecationWarning]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the old name's: tested above
@pytest.mark.parametrize("variable", [ROUTER_URLS_ENV, "QUOTEFLOW_ROUTER_URLS"])
def test_traffic_finds_its_routers_by_either_name(variable: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:9")  # nothing listens: the error names it
    result = CliRunner().invoke(main, ["traffic", "show"])
    assert result.exit_code == 1
    assert "http://127.0.0.1:9" in result.output and "unreachable" in result.output
    assert ("deprecated" in result.output) == (variable == "QUOTEFLOW_ROUTER_URLS")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("variable", [PROMETHEUS_URL_ENV, "QUOTEFLOW_PROMETHEUS_URL"])
def test_the_rollout_reads_prometheus_by_either_name(variable: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "http://prometheus.example:9090")
    seen: dict[str, str] = {}

    @click.command()
    @cli_options.prometheus_option
    def probe(prometheus_url: str) -> None:
        seen["url"] = prometheus_url

    result = CliRunner().invoke(probe, [])
    assert result.exit_code == 0, result.output
    assert seen["url"] == "http://prometheus.example:9090"


def test_one_default_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "alice")
    assert cli_options.default_actor() == "alice"
    monkeypatch.delenv("USER")
    monkeypatch.setattr(cli_options.getpass, "getuser", lambda: "login")
    assert cli_options.default_actor() == "login"

    def no_user() -> str:
        raise KeyError("uid not in passwd")

    monkeypatch.setattr(cli_options.getpass, "getuser", no_user)
    assert cli_options.default_actor() == "quoteflow"


def test_shared_options_are_defined_once() -> None:
    """--actor, --registry and --model NAME[:VERSION|@STAGE] are cli_options' only."""
    services = Path(cli_options.__file__).parent
    flags = ('"--actor"', '"--registry"', "NAME[:VERSION|@STAGE]")
    defined: dict[str, list[str]] = {flag: [] for flag in flags}
    for path in services.rglob("*.py"):
        text = path.read_text()
        for flag, where in defined.items():
            if flag in text:
                where.append(path.relative_to(services).as_posix())
    defined = {flag: sorted(where) for flag, where in defined.items()}
    # bench's --registry is its own required, existing directory of a benchmark registry
    assert defined == {'"--actor"': ["cli_options.py"],
                       '"--registry"': ["bench/cli.py", "cli_options.py"],
                       "NAME[:VERSION|@STAGE]": ["cli_options.py"]}, defined
