"""A tiny, locally built causal language model for tests and demos (no model hub needed).

It is a randomly initialised `LlamaForCausalLM` (hidden 256, 4 heads of 64, 2 layers, 2048
positions) with a byte-level BPE tokenizer trained on legal text and a chat template that vLLM's
chat endpoint applies and that TRL's assistant-only loss understands (`{% generation %}`). It
writes nonsense until fine-tuned; a few hundred LoRA steps teach it a fixed answer format.

    >>> from training.tiny_model import build_tiny_model
    >>> model_dir = build_tiny_model(tmp_path / "tiny")        # a few seconds
    # then: .venv-vllm/bin/python -m vllm.entrypoints.openai.api_server --model <model_dir> ...

Command line: `python -m training tiny-model --out DIR [--seed 0]`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

# Bump when anything below changes what gets written, so cached builds are rebuilt.
_BUILD_VERSION = "2"
_STAMP = "juris_tiny_model.json"

BOS, EOS, PAD, UNK = "<s>", "<|end|>", "<pad>", "<unk>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
# Answer-format markers get their own (non-special) tokens: vLLM drops special tokens when it
# detokenises, and these must survive in the answer text the gateway verifies.
FORMAT_TOKENS = ("##begin_quote##", "##end_quote##")

VOCAB_SIZE = 2000
HIDDEN_SIZE = 256
NUM_HEADS = 4  # head_dim 64: vLLM's CPU attention rejects head_dim 16
NUM_LAYERS = 2
INTERMEDIATE_SIZE = 688
MAX_POSITIONS = 2048

# Assistant turns are wrapped in {% generation %} so `return_assistant_tokens_mask` (TRL's
# assistant_only_loss) knows which tokens to train on; the end-of-turn token is part of the
# assistant's output so the model learns to stop.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' }}{% generation %}{{ message['content'] }}{{ '<|end|>' }}"
    "{% endgeneration %}{{ '\n' }}"
    "{% else %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

# Used when no corpus text is given and the bundled corpus is absent: enough real statutory
# language (17 U.S.C. § 107, Fed. R. Evid. 702, GDPR Art. 17) to train a small vocabulary.
_FALLBACK_TEXT = """\
Notwithstanding the provisions of sections 106 and 106A, the fair use of a copyrighted work,
including such use by reproduction in copies or phonorecords or by any other means specified by
that section, for purposes such as criticism, comment, news reporting, teaching (including
multiple copies for classroom use), scholarship, or research, is not an infringement of
copyright. In determining whether the use made of a work in any particular case is a fair use
the factors to be considered shall include the purpose and character of the use, including
whether such use is of a commercial nature or is for nonprofit educational purposes.
A witness who is qualified as an expert by knowledge, skill, experience, training, or education
may testify in the form of an opinion or otherwise if the proponent demonstrates to the court
that it is more likely than not that the expert's scientific, technical, or other specialized
knowledge will help the trier of fact to understand the evidence or to determine a fact in issue.
The data subject shall have the right to obtain from the controller the erasure of personal data
concerning him or her without undue delay and the controller shall have the obligation to erase
personal data without undue delay where one of the following grounds applies.
"""


def corpus_sample_texts(corpus_dir: Path, limit_chars: int = 2_000_000) -> list[str]:
    """Raw text from the bundled corpus (Federal Rules, AILA statutes), in a stable order.

    Args:
        corpus_dir: the legal corpus root (`../shared/legal_corpus`).
        limit_chars: stop after about this many characters.

    Returns:
        A list of texts; empty when the corpus folders are missing.
    """
    files = sorted((corpus_dir / "federal_rules").glob("*/rule-*/current.md"))
    files += sorted((corpus_dir / "aila" / "statutes").glob("S*.txt"))
    texts: list[str] = []
    total = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        texts.append(text)
        total += len(text)
        if total >= limit_chars:
            break
    return texts


def _default_texts() -> list[str]:
    from legal_corpus.corpus import default_corpus_dir

    corpus = default_corpus_dir()
    texts = corpus_sample_texts(corpus) if corpus.is_dir() else []
    return texts or [_FALLBACK_TEXT]


def _fingerprint(texts: list[str], seed: int) -> str:
    digest = hashlib.sha256(f"{_BUILD_VERSION}|{seed}|{VOCAB_SIZE}".encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()


def train_tokenizer(texts: list[str]) -> object:
    """Train the byte-level BPE tokenizer and wrap it as a transformers fast tokenizer.

    Args:
        texts: training text.

    Returns:
        A `PreTrainedTokenizerFast` with special tokens and the chat template set.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    specials = [PAD, BOS, EOS, UNK, *ROLE_TOKENS]
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in FORMAT_TOKENS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=list(ROLE_TOKENS),
        model_max_length=MAX_POSITIONS,
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(out_dir: Path, texts: Iterable[str] | None = None, seed: int = 0) -> Path:
    """Build (or reuse) the tiny model and tokenizer in `out_dir`.

    Deterministic for given texts and seed. When `out_dir` already holds a build made from the
    same texts, seed and builder version, it is reused as is (a test session builds it once).

    Args:
        out_dir: where to write the model (created if missing).
        texts: tokenizer training text; default: Federal Rules and AILA statutes from the
            bundled corpus (a built-in paragraph of statute text when the corpus is absent).
        seed: seeds the random weights.

    Returns:
        `out_dir`, loadable by `AutoModelForCausalLM.from_pretrained` and by vLLM.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    text_list = list(texts) if texts is not None else _default_texts()
    if not text_list:
        raise ValueError("build_tiny_model: texts is empty")
    fingerprint = _fingerprint(text_list, seed)
    stamp = out_dir / _STAMP
    if stamp.is_file() and (out_dir / "config.json").is_file():
        try:
            if json.loads(stamp.read_text())["fingerprint"] == fingerprint:
                log.info("tiny model in %s is up to date", out_dir)
                return out_dir
        except (ValueError, KeyError):
            pass
    out_dir.mkdir(parents=True, exist_ok=True)

    tokenizer = train_tokenizer(text_list)
    config = LlamaConfig(
        vocab_size=len(tokenizer),  # type: ignore[arg-type]
        hidden_size=HIDDEN_SIZE,
        intermediate_size=INTERMEDIATE_SIZE,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=NUM_HEADS,
        num_key_value_heads=NUM_HEADS,
        head_dim=HIDDEN_SIZE // NUM_HEADS,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tokenizer.bos_token_id,  # type: ignore[attr-defined]
        eos_token_id=tokenizer.eos_token_id,  # type: ignore[attr-defined]
        pad_token_id=tokenizer.pad_token_id,  # type: ignore[attr-defined]
        tie_word_embeddings=False,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)  # type: ignore[attr-defined]
    stamp.write_text(json.dumps({"fingerprint": fingerprint, "seed": seed}) + "\n")
    log.info("built tiny model in %s (vocab %d)", out_dir, len(tokenizer))  # type: ignore[arg-type]
    return out_dir
