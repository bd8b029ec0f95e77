"""The policy document: one section per model, the old single-section shape, the file
shared by several routers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

from quoteflow.traffic.document import (
    PolicyFile,
    apply_text,
    load_policy_file,
    parse_document,
    parse_section,
    write_policy_file,
)
from quoteflow.traffic.policy import PolicyError, PolicyStore, parse_policy

TWO = """
models:
  motor: {blue: {version: 3}, green: {version: '4'}, green_weight: 10}
  claims: {blue: {version: '1'}, green: {version: '2'}, shadow: {enabled: true}}
"""


def test_each_model_has_its_own_section() -> None:
    doc = parse_document(TWO, "t")
    assert doc.models == ["claims", "motor"]
    assert doc.section("motor").green_weight == 10 and not doc.section("motor").shadow.enabled
    assert doc.section("claims").shadow.enabled and doc.section("claims").green_weight == 0


def test_the_single_section_shape_is_read_as_motor() -> None:
    doc = parse_document("blue: {version: 3}\n", "old.yaml")
    assert doc.models == ["motor"] and doc.section("motor").version_of("blue") == "3"


@pytest.mark.parametrize(("text", "needle"), [
    ("models: {claims: {blue: {version: '1'}, green_weight: 5}}", "needs a green model"),
    ("models: {claims: {blue: {version: '1'}, colour: red}}", "models.claims.colour"),
    ("models: {claims: {blue: {version: '1'}}}\ngreen_weight: 3", "unknown key beside"),
    ("models: {}", "at least one model"),
    ("models: {claims: [1]}", "models.claims."),
    ("models: {all: {blue: {version: '1'}}}", "reserved"),
    ("models: {'Bad Name': {blue: {version: '1'}}}", "not a model name"),
])
def test_a_bad_section_is_refused_naming_model_and_field(text: str, needle: str) -> None:
    with pytest.raises(PolicyError, match=needle):
        parse_document(text, "policy.yaml")


def test_a_missing_section_names_the_ones_there() -> None:
    with pytest.raises(PolicyError, match=r"no section for model 'home'.*claims, motor"):
        parse_document(TWO, "t").section("home")


def test_a_store_runs_its_own_section_and_ignores_the_others() -> None:
    store = PolicyStore(parse_document(TWO, "t").section("claims"), "t", "claims")
    other = TWO.replace("green_weight: 10", "green_weight: 50")
    assert apply_text(store, other, "reload").green_weight == 0
    assert store.generation == 1  # the motor section moved; claims' did not
    killed = TWO.replace("shadow: {enabled: true}", "shadow: {enabled: false}")
    assert not apply_text(store, killed, "reload").shadow.enabled and store.generation == 2
    assert store.state.view()["model"] == "claims"


def test_writing_a_section_keeps_the_others_and_converts_an_old_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("blue: {version: '3'}\n")  # the old shape: motor's
    claims = parse_policy({"blue": {"version": "1"}}, "t")
    write_policy_file(path, claims, "claims")
    doc = yaml.safe_load(path.read_text())
    assert set(doc["models"]) == {"motor", "claims"}
    assert load_policy_file(path, "motor").version_of("blue") == "3"


def test_routers_writing_the_shared_file_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    models = [f"m{i}" for i in range(8)]

    def write(model: str) -> None:
        for w in range(10):
            write_policy_file(path, parse_policy({"blue": {"version": "1"},
                                                  "green": {"version": "2"},
                                                  "green_weight": w}, "t"), model)

    threads = [threading.Thread(target=write, args=(m,)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    doc = parse_document(path.read_text(), str(path))
    assert doc.models == models
    assert all(doc.section(m).green_weight == 9 for m in models)


def test_a_broken_file_never_blocks_a_write_and_other_sections_stay_as_written(
        tmp_path: Path) -> None:
    """The kill switch must persist whatever a hand edit left in the file."""
    path = tmp_path / "policy.yaml"
    path.write_text("models: [broken")
    write_policy_file(path, parse_policy({"blue": {"version": "1"}}, "t"), "claims")
    assert parse_document(path.read_text(), "t").models == ["claims"]
    # another model's invalid section is its router's to judge: kept verbatim
    path.write_text("models:\n  motor: {blue: {version: '1'}, green_weight: 300}\n"
                    "  claims: {blue: {version: '1'}}\n")
    write_policy_file(path, parse_policy({"blue": {"version": "2"}}, "t"), "claims")
    doc = yaml.safe_load(path.read_text())
    assert doc["models"]["motor"]["green_weight"] == 300
    assert load_policy_file(path, "claims").version_of("blue") == "2"


def test_a_router_is_not_stopped_by_another_models_bad_section() -> None:
    bad_motor = TWO.replace("green_weight: 10", "green_weight: 300")
    with pytest.raises(PolicyError, match=r"models\.motor\.green_weight"):
        parse_document(bad_motor, "t")  # the tools see every problem
    assert parse_section(bad_motor, "t", "claims").shadow.enabled  # claims reloads
    with pytest.raises(PolicyError, match=r"models\.motor\.green_weight"):
        parse_section(bad_motor, "t", "motor")


def test_a_write_reaches_the_store_by_the_files_reload_only(tmp_path: Path) -> None:
    """The admin API's route: the section is written, the file reloaded at once; the
    poll that follows finds nothing new, and a hand edit after it is applied as ever."""
    path = tmp_path / "policy.yaml"
    path.write_text(TWO)
    store = PolicyStore(load_policy_file(path, "claims"), str(path), "claims")
    seen: list[int] = []
    store.subscribe(lambda s: seen.append(s.generation))
    source = PolicyFile(path, store, interval=60)
    state = source.write(store.policy.with_traffic(green_weight=30), "admin api")
    assert state.generation == 2 and store.policy.green_weight == 30
    assert state.source == f"{path} (written by the admin api)"
    assert load_policy_file(path, "claims").generation == 2  # the file holds what runs
    assert load_policy_file(path, "motor").green_weight == 10  # the other section stays
    source.check()
    assert seen == [1, 2] and source.last_error is None
    path.write_text(path.read_text().replace("green_weight: 30.0", "green_weight: 40"))
    source.check()
    assert seen == [1, 2, 3] and store.policy.green_weight == 40

