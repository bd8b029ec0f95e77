# The two commands in the README: `make up` runs the whole local stack,
# `make test` runs the linters (ruff; mypy, [tool.mypy] in pyproject.toml) and the whole
# test suite. Both set up what they need first.
.PHONY: up test bootstrap lint bench

bootstrap:
	@bash scripts/bootstrap.sh

up: bootstrap
	.venv/bin/quoteflow up

test: bootstrap
	.venv/bin/ruff check services tests loadtest
	.venv/bin/mypy
	.venv/bin/python -m pytest -q

lint: bootstrap
	.venv/bin/ruff check services tests loadtest
	.venv/bin/mypy

bench: bootstrap
	.venv/bin/quoteflow bench
