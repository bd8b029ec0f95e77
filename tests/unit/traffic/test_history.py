"""Who moved what: the history kept beside the policy file and in the ConfigMap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from quoteflow.traffic import history
from quoteflow.traffic.document import PolicyFile, write_policy_file
from quoteflow.traffic.history import Change
from quoteflow.traffic.policy import PolicyStore, parse_policy

DOC = {"blue": {"version": "1"}, "green": {"version": "2"}, "green_weight": 10}


def test_every_write_with_a_change_appends_who_why_and_the_generation(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    write_policy_file(path, parse_policy(DOC, "t"), "motor")
    store = PolicyStore(parse_policy(DOC, "t"), "t", "motor")
    source = PolicyFile(path, store, 1.0)
    source.write(store.policy.with_traffic(green_weight=20), "cli",
                 Change(change="set", actor="ana", reason="step 2 of the rollout"))
    source.write(store.policy.killed(), "kill switch",
                 Change(change="kill", actor="sre-on-call", reason="INC-7"))
    write_policy_file(path, parse_policy(DOC, "t"), "claims",
                      Change(change="set", actor="bo", reason="claims' own"))
    entries = history.read(history.history_path(path), "motor")
    assert [(e["change"], e["actor"], e["reason"], e["generation"]) for e in entries] == [
        ("set", "ana", "step 2 of the rollout", 2), ("kill", "sre-on-call", "INC-7", 3)]
    assert entries[0]["policy"]["green_weight"] == 20 and entries[1]["at"].endswith("Z")
    assert len(history.read(history.history_path(path))) == 3  # every model's


def test_a_damaged_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"model": "motor", "change": "set"}\nnot json\n')
    assert history.read(path) == [{"model": "motor", "change": "set"}]
    assert history.read(tmp_path / "none.jsonl") == []


def test_the_configmap_key_keeps_the_newest_entries() -> None:
    text = None
    for i in range(5):
        text = history.appended(text, {"generation": i}, keep=3)
    assert [json.loads(x)["generation"] for x in text.splitlines()] == [2, 3, 4]


@pytest.mark.parametrize("bad", [{"change": "set", "actor": ""},
                                 {"change": "Set Weight!", "actor": "a"},
                                 {"change": "set", "actor": "a", "extra": 1}])
def test_a_change_needs_a_kind_and_an_actor(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Change.model_validate(bad)
