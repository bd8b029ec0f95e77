"""The ``quoteflow`` command line. Each topic's commands live beside their logic."""

from __future__ import annotations

import click

from quoteflow import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="quoteflow")
def main() -> None:
    """quoteflow: real-time insurance rating with blue/green model rollout."""


def _register_commands() -> None:
    # Imported here so that `quoteflow --help` works with only a service's extra
    # installed: a topic whose dependencies are missing is simply not offered.
    import importlib

    for module, attr in [
        ("quoteflow.training.cli", "train"),
        ("quoteflow.registry.cli", "models"),
        ("quoteflow.serving", "serve"),
        ("quoteflow.local.cli", "up"),
        ("quoteflow.control.cli", "traffic"),
        ("quoteflow.control.rollout_cli", "rollout"),
        ("quoteflow.batch.cli", "score"),
        ("quoteflow.bench.cli", "bench"),
        ("quoteflow.simulate.cli", "simulate"),
        ("quoteflow.training.cli", "validate_config"),
    ]:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("quoteflow") and not module.startswith(e.name):
                raise
            continue
        main.add_command(getattr(mod, attr))


_register_commands()


if __name__ == "__main__":
    main()
