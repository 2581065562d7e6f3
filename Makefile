.PHONY: test test-fast lint run bench bench-quick bench-scale docs dist
test:
	python -m pytest
test-fast:
	python -m pytest -n auto -m "not slow"
lint:
	ruff check . && ruff format --check . && mypy
run:
	aggregator run
bench:
	python -m benchmarks && python -m benchmarks.publish && python -m benchmarks.fetch && python -m benchmarks.ranking
bench-quick:
	python -m benchmarks --feeds 20 --big-entries 2000 --skip-feedparser
docs:
	mkdocs build --strict
dist:
	python -m build && twine check --strict dist/*
bench-scale:
	python -m benchmarks.scale
