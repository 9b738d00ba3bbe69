"""The tiny test model and a random LoRA adapter for it, built locally and cached.

The model is `training.tiny_model`'s; the adapter has random, non-zero weights, so a vLLM
server started with it (`serving.lab.vllm_process.start_vllm`) answers differently as `legal`
than as `base`. The integration tests' vLLM fixture and `make bench` use both:

    .venv/bin/python -m tests.support.tiny_vllm_model var/test-cache   # prints the two folders
"""

from __future__ import annotations

import sys
from pathlib import Path


def build_random_adapter(model_dir: Path, out_dir: Path, rank: int = 8, seed: int = 0) -> Path:
    """A LoRA adapter for `model_dir` with random (non-zero) weights, saved for vLLM.

    An untrained adapter whose B matrices are not zero: served as `legal`, it answers
    differently from `base`, which proves that the model name selects the adapter. A trained
    adapter (`python -m training train`) replaces it in real use.

    Args:
        model_dir: the base model.
        out_dir: where to save the adapter (reused while the base model is unchanged).
        rank: LoRA rank (vLLM is started with `--max-lora-rank 8`).
        seed: seeds the adapter weights.

    Returns:
        `out_dir`.
    """
    import hashlib
    import shutil

    base_id = hashlib.sha256(
        b"".join(
            (model_dir / name).read_bytes()
            for name in ("config.json", "tokenizer.json", "juris_tiny_model.json")
            if (model_dir / name).is_file()
        )
        + f"|{rank}|{seed}".encode()
    ).hexdigest()
    stamp = out_dir / "juris_base_model.sha256"
    fresh = (out_dir / "adapter_config.json").is_file() and stamp.is_file()
    if fresh and stamp.read_text().strip() == base_id:
        return out_dir
    shutil.rmtree(out_dir, ignore_errors=True)

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    get_peft_model(base, config).save_pretrained(str(tmp))
    (tmp / stamp.name).write_text(base_id + "\n")
    tmp.rename(out_dir)
    return out_dir


def tiny_model_and_adapter(cache: Path) -> tuple[Path, Path]:
    """The tiny test model (`training.tiny_model`) and a random adapter, cached in `cache`."""
    from training.tiny_model import build_tiny_model

    model_dir = build_tiny_model(cache / "tiny_model")
    return model_dir, build_random_adapter(model_dir, cache / "tiny_model_lora")


def main(argv: list[str] | None = None) -> int:
    """Build (or re-use) the tiny model and its adapter under the folder given; print both."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.support.tiny_vllm_model CACHE_DIR", file=sys.stderr)
        return 2
    model_dir, adapter_dir = tiny_model_and_adapter(Path(args[0]))
    print(model_dir)
    print(adapter_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
