.PHONY: test lint run bench bench-quick
test:
	python -m pytest
lint:
	ruff check . && ruff format --check . && mypy
run:
	aggregator run
bench:
	python -m benchmarks && python -m benchmarks.publish && python -m benchmarks.fetch
bench-quick:
	python -m benchmarks --feeds 20 --big-entries 2000 --skip-feedparser
