"""The chat template training formats rows with: the model's own, marked for assistant-only loss.

TRL's assistant-only loss needs `{% generation %}` … `{% endgeneration %}` around the assistant's
turn in the chat template. A model whose template has them is used as is. A ChatML model
(`<|im_start|>role\\n…<|im_end|>`, e.g. SmolLM2, Qwen) whose template lacks them gets an
equivalent ChatML template with the markers — accepted only if it renders a probe conversation
to exactly the same text as the model's own template, so the model is trained on what vLLM will
send it. Any other template is refused with the fix.
"""

from __future__ import annotations

from typing import Any

# ChatML with the assistant's content and end-of-turn token marked as generated; a system turn
# is whatever the conversation gives (RAFT rows always carry the gateway's system prompt).
CHATML_TRAINING_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}"
    "{% endgeneration %}{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_PROBE = [
    {"role": "system", "content": "You are a careful legal research assistant."},
    {"role": "user", "content": "Sources:\n\n[1] Fed. R. Evid. 408\n(a) Prohibited uses.\n\nQ?"},
    {"role": "assistant", "content": "It is governed by Fed. R. Evid. 408(a) [1]."},
]


class ChatTemplateError(ValueError):
    """The model's chat template cannot be used for training; the message says why and how."""


def training_chat_template(tokenizer: Any, model_dir: str) -> str:
    """The chat template to format training rows with (see the module docstring).

    Args:
        tokenizer: the model's tokenizer (a `transformers` tokenizer).
        model_dir: the model directory (named in error messages).

    Returns:
        A Jinja chat template with `{% generation %}` markers that renders conversations exactly
        as the model's own template does.

    Raises:
        ChatTemplateError: no chat template, or one with no known marked equivalent.
    """
    own = tokenizer.chat_template
    if not own:
        raise ChatTemplateError(
            f"{model_dir}: the tokenizer has no chat template; add one (a `chat_template.jinja` "
            "file or `chat_template` in tokenizer_config.json) before training or serving"
        )
    if "{% generation %}" in own or "{%- generation %}" in own:
        return str(own)
    if "<|im_start|>" not in own:
        raise ChatTemplateError(
            f"{model_dir}: the chat template has no {{% generation %}} markers, which "
            "assistant-only loss needs, and is not ChatML; add the markers around the "
            "assistant's turn in the model's template"
        )
    for add_prompt, probe in ((False, _PROBE), (True, _PROBE[:2])):
        kwargs = {"tokenize": False, "add_generation_prompt": add_prompt}
        theirs = tokenizer.apply_chat_template(probe, **kwargs)
        ours = tokenizer.apply_chat_template(
            probe, chat_template=CHATML_TRAINING_TEMPLATE, **kwargs
        )
        if theirs != ours:
            raise ChatTemplateError(
                f"{model_dir}: the ChatML chat template renders conversations differently from "
                "the marked template training would use; add {% generation %} markers around the "
                f"assistant's turn in the model's own template (rendered {theirs!r})"
            )
    return CHATML_TRAINING_TEMPLATE
