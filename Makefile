.PHONY: test lint run
test:
	python -m pytest
lint:
	ruff check . && ruff format --check . && mypy
run:
	aggregator run
