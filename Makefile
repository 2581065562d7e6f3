.PHONY: test lint run bench
test:
	python -m pytest
lint:
	ruff check . && ruff format --check . && mypy
run:
	aggregator run
bench:
	python -m benchmarks.publish && python -m benchmarks.fetch
