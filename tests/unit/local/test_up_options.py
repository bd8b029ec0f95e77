"""`quoteflow up --pin MODEL:VERSION --otlp-endpoint URL`: what each process is given."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from quoteflow.local.cli import parse_pins, product_stack, service_env
from quoteflow.registry import Registry


def test_pins_are_parsed_per_model_and_a_bad_one_is_named() -> None:
    assert parse_pins(("motor:3", "motor:4", "claims:2")) == {"motor": ("3", "4"),
                                                                "claims": ("2",)}
    for bad in ("motor", "cars:3", "motor:"):
        with pytest.raises(click.BadParameter, match=f"'{bad}': expected MODEL:VERSION"):
            parse_pins((bad,))


def test_both_colors_pin_the_versions_and_every_process_traces() -> None:
    env = service_env(("3", "4"), "http://127.0.0.1:4318/v1/traces")
    for color in ("inference-blue", "inference-green"):
        assert json.loads(env[color]["QUOTEFLOW_INFERENCE_EXTRA_VERSIONS"]) == ["3", "4"]
        assert env[color]["QUOTEFLOW_INFERENCE_TRACING__OTLP_ENDPOINT"].endswith("/v1/traces")
    assert env["router"] == {"QUOTEFLOW_ROUTER_TRACING__OTLP_ENDPOINT":
                             "http://127.0.0.1:4318/v1/traces"}
    assert "QUOTEFLOW_PREPROCESS_TRACING__OTLP_ENDPOINT" in env["preprocess"]
    assert service_env((), None) == {}  # nothing asked: the processes' defaults


def test_a_pinned_version_the_registry_lacks_is_refused(trained_registry: Path,
                                                         tmp_path: Path) -> None:
    have = Registry(trained_registry).versions("motor")
    with pytest.raises(click.BadParameter, match="motor:99 not in"):
        product_stack(trained_registry, tmp_path, "motor", 18000, 0.0, False, "t", ("99",))
    st = product_stack(trained_registry, tmp_path, "motor", 18000, 0.0, False, "t",
                       (have[0],))
    assert json.loads(st.config.env["inference-green"]["QUOTEFLOW_INFERENCE_EXTRA_VERSIONS"]) \
        == [have[0]]
