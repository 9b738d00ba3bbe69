"""The gateway's development harness — lab code, not part of the served product.

`python -m serving demo` (`demo.py`), `python -m serving bench` (`bench.py`), uvicorn in a
thread for the demo, the benchmarks and the tests (`server.py`), and a local vLLM server process
started from `.venv-vllm` (`vllm_process.py`). The gateway itself (`serving.app` and what it
assembles) imports nothing from here; the container image runs `python -m serving serve` only.
"""
