"""Command line of the training package.

    python -m training tiny-model --out var/tiny-model
    python -m training raft-data --out var/raft --sources federal_rules gdpr --k 3 --p 0.8
    python -m training lora --config training/configs/tiny-cpu.yaml model=var/tiny-model
    python -m training eval --data var/raft/eval.jsonl --vllm-url http://127.0.0.1:8000 \
        --base-model base --adapter-model legal
"""

from __future__ import annotations

from training.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
