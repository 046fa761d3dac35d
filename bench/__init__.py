"""Benchmarks: `make bench` runs each module listed in bench/__main__.py."""
