"""The ``quoteflow`` command line. Each topic's commands live beside their logic.

A command's module is imported only when that command runs: ``quoteflow traffic kill``
must not pay for importing FastAPI, onnxruntime or pyarrow. A command whose extra is
not installed is still listed, and says which extra it needs instead of vanishing.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from quoteflow import __version__

# name -> (module, attribute, extra that provides its dependencies, one-line help)
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "train": ("quoteflow.training.cli", "train", "training",
              "Train the example models on the real data and register them."),
    "models": ("quoteflow.registry.cli", "models", "(base)",
               "The model registry: versions, stages, audit trail."),
    "serve": ("quoteflow.serving", "serve", "service",
              "Run one service (preprocess, inference, router)."),
    "up": ("quoteflow.local.cli", "up", "dev", "Run the whole stack on this machine."),
    "traffic": ("quoteflow.control.cli", "traffic", "(base)",
                "Show or change the traffic policy; the kill switch."),
    "rollout": ("quoteflow.control.rollout_cli", "rollout", "(base)",
                "Walk Green through shadow and traffic steps behind Prometheus gates."),
    "score": ("quoteflow.batch.cli", "score", "batch",
              "Score a whole book (CSV/Parquet) with a registered model."),
    "quotes": ("quoteflow.ledger.cli", "quotes", "ledger",
               "The quote ledger: show, export, stats, purge."),
    "simulate": ("quoteflow.simulate.cli", "simulate", "batch",
                 "Aggregate annual loss of a book by Monte Carlo (VaR, TVaR)."),
    "validate-config": ("quoteflow.training.cli", "validate_config", "(base)",
                        "Print the merged per-environment configuration, or every error."),
    "dislocation": ("quoteflow.dislocation.cli", "dislocation", "batch",
                    "Reprice a book on a candidate version: who moves, by how much."),
    "desk": ("quoteflow.desk.cli", "desk", "desk",
             "The claims desk web app: serve it, add users, export reviewer decisions."),
    "claims": ("quoteflow.desk.outcomes_cli", "claims", "desk",
               "Claim triage judged by its reviewers: outcomes per model version and color."),
    "bench": ("quoteflow.bench.cli", "bench", "dev",
              "Benchmark the quote path against nginx and BentoML."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module, attr, extra, summary = spec
        try:
            command = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as e:
            if e.name and e.name.split(".")[0] == "quoteflow":
                raise  # our own code is broken: say so, loudly
            return _unavailable(cmd_name, summary, extra, str(e))
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}.{attr} is not a click command")  # the table is wrong
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # the help text comes from the table: listing commands imports none of them
        with formatter.section("Commands"):
            formatter.write_dl([(name, spec[3]) for name, spec in sorted(COMMANDS.items())])


def _unavailable(name: str, summary: str, extra: str, why: str) -> click.Command:
    message = (f"'quoteflow {name}' is unavailable here: {why}. "
               f"Install it with pip install 'quoteflow[{extra}]'.")

    def run(**_: Any) -> None:
        raise click.ClickException(message)

    return click.Command(name, callback=run, help=f"{summary} (unavailable: {why})",
                         context_settings={"ignore_unknown_options": True,
                                           "allow_extra_args": True})


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="quoteflow")
def main() -> None:
    """quoteflow: real-time insurance decisions with blue/green model rollout."""


if __name__ == "__main__":
    main()
