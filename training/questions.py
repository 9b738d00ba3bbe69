"""Questions for RAFT rows, written from a passage's legal structure (or by a teacher model).

Two families, each question paired with the verbatim words of the passage that answer it:

- **citing** questions name the provision, as a lawyer who knows it asks: defined terms
  (`"X" means …` → *What does “X” mean under GDPR Art. 4(1)?*), *When does <citation> apply?*,
  *What does <citation> (<heading>) provide?*, and for opinions *What did the court say in
  <case> at ¶ n?*;
- **plain** questions do not name it, as a lawyer who does not know which provision governs
  asks (the retrieval and the model must find it): *What is the rule on <subject> under <body
  of law>?*, *What does “X” mean under the GDPR?* — the subject is the passage's own heading
  (a subdivision's heading when it has one, else the section's), the body of law its title,
  rules or regulation.

    >>> template_questions(chunk, max_quote_words=30)
    [Question(text='What does Fed. R. Evid. 408 (Prohibited Uses) provide?', ...), ...]
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from indexing.model import Chunk
from indexing.text import CLAUSES, split_sentences
from serving import answer_format as fmt

# `"X" means …` / `the term “X” means …` (17 U.S.C. § 101, GDPR Art. 4 uses ‘X’ means).
_DEFINITION = re.compile(
    r"(?:[\"“”]|[‘’']{1,2})([^\"“”‘’']{2,60})(?:[\"“”]|[‘’']{1,2})\s+(?:means|includes|refers to)\b"
)
_APPLY = re.compile(r"\b(?:shall apply|applies|does not apply|shall not apply|apply)\b", re.I)
_SECTION_HEADING = re.compile(r"^(?:§+\s*[\w.-]+\.?|Rule\s+[\w.-]+\.|Article\s+\d+\s+—)\s*")
_TITLE = re.compile(r"^Title\s+(\d+)\s+—\s+(.+)$", re.IGNORECASE)

QuestionWriter = Callable[[Chunk], str | None]

PLAIN_TEMPLATES = (
    "What is the rule on {subject} under {law}?",
    "What does {law} say about {subject}?",
    "Which provision of {law} deals with {subject}, and what does it say?",
)


@dataclass(frozen=True, slots=True)
class Question:
    """A question about one oracle chunk and the verbatim words that answer it.

    Args:
        text: the question.
        quote: verbatim words of the chunk that answer it.
        origin: `template:<name>` or `teacher`.
        at_start: the quote is the chunk's opening sentence (its first pinpoint).
    """

    text: str
    quote: str
    origin: str
    at_start: bool = False

    @property
    def names_provision(self) -> bool:
        """False for plain questions, which leave finding the provision to retrieval."""
        return not self.origin.startswith("template:plain")


def _sentences(text: str) -> list[str]:
    return split_sentences(fmt.normalize_ws(text), CLAUSES)


def _quote_from(sentence: str, min_words: int, max_words: int) -> str | None:
    """A verbatim prefix of `sentence`: all of it when short, else up to its last clause break
    (`,` `;` `:` `—`) within `max_words`, else its first `max_words` words."""
    words = sentence.split()
    if len(words) < min_words:
        return None
    if len(words) <= max_words:
        quote = " ".join(words).rstrip(",;:.")
    else:
        head = words[:max_words]
        cut = max(
            (i for i, w in enumerate(head, 1) if i >= min_words and w[-1] in ",;:—"), default=0
        )
        quote = " ".join(head[: cut or max_words]).rstrip(",;:—")
    # Quote markers and brackets in a quote would confuse the answer format.
    if fmt.QUOTE_BEGIN in quote or fmt.QUOTE_END in quote or fmt.CITE_PATTERN.search(quote):
        return None
    return quote


def heading(chunk: Chunk) -> str:
    """The chunk's innermost heading (its subdivision's, else its document's title)."""
    return chunk.heading_path[-1] if chunk.heading_path else chunk.title


def subject(chunk: Chunk) -> str:
    """What the chunk is about, in words: its subdivision's heading, else its section's title.

    Section headings lose their number (`§ 507. Limitations on actions` → `Limitations on
    actions`); a title with several clauses keeps the first (`Defenses and Objections: When and
    How Presented; Motion for …` → `Defenses and Objections: When and How Presented`).
    """
    own = heading(chunk)
    top = chunk.heading_path[0] if chunk.heading_path else ""
    text = own if own and own != top and not _is_section(own) else chunk.title
    text = _SECTION_HEADING.sub("", text).split(";")[0].strip().rstrip(".")
    return text


def _is_section(text: str) -> bool:
    return bool(_SECTION_HEADING.match(text))


def body_of_law(chunk: Chunk) -> str | None:
    """The body of law a chunk belongs to, as a lawyer names it (None: no plain question)."""
    if chunk.source == "gdpr":
        return "the GDPR"
    top = chunk.heading_path[0] if chunk.heading_path else ""
    if chunk.source == "federal_rules" and top:
        return f"the {top}"
    m = _TITLE.match(top)
    if chunk.source == "uscode" and m:
        return f"the U.S. Code (Title {m.group(1)}, {m.group(2).strip().title()})"
    return None


def _lower(text: str) -> str:
    """Title-case words lower-cased; acronyms (GDPR, U.S.) kept."""
    return " ".join(w.lower() if w[:1].isupper() and w[1:].islower() else w for w in text.split())


def _pick(chunk: Chunk, options: tuple[str, ...]) -> str:
    h = hashlib.sha256(chunk.chunk_id.encode()).digest()
    return options[h[0] % len(options)]


def template_questions(
    chunk: Chunk, *, min_quote_words: int = 4, max_quote_words: int = 40, limit: int = 2
) -> list[Question]:
    """Questions templated from the chunk's legal structure, each with its verbatim answer.

    Citing and plain questions alternate (the most specific citing question first), so a
    `limit` of 2 gives one of each where both fit.

    Args:
        chunk: the oracle chunk.
        min_quote_words: a shorter sentence is not quoted.
        max_quote_words: longest quote (a verbatim prefix of the chosen sentence).
        limit: most questions returned.

    Returns:
        Up to `limit` questions.
    """
    citing: list[Question] = []
    plain: list[Question] = []
    sentences = _sentences(chunk.text)
    cite = chunk.citation or chunk.doc_citation
    law = body_of_law(chunk) if chunk.kind != "opinion" else None

    def quote(sentence: str) -> str | None:
        return _quote_from(sentence, min_quote_words, max_quote_words)

    for i, sentence in enumerate(sentences):
        m = _DEFINITION.search(sentence)
        q = quote(sentence[m.start() :]) if m else None
        if m and q:
            term = m.group(1).strip()
            start = i == 0 and m.start() == 0
            citing.append(
                Question(
                    f"What does “{term}” mean under {cite}?", q, "template:defined-term", start
                )
            )
            if law:
                text = f"What does “{term}” mean under {law}?"
                plain.append(Question(text, q, "template:plain-term", start))
            break
    for i, sentence in enumerate(sentences):
        q = quote(sentence) if _APPLY.search(sentence) else None
        if q:
            citing.append(Question(f"When does {cite} apply?", q, "template:when-apply", i == 0))
            break
    first_i, first = next(
        ((i, q) for i, q in enumerate(quote(s) for s in sentences) if q), (None, None)
    )
    if first:
        start = first_i == 0
        title = subject(chunk)
        if chunk.kind == "opinion":
            where = f" at {chunk.pinpoint}" if chunk.pinpoint else ""
            text = f"What did the court say in {chunk.title}{where}?"
            citing.append(Question(text, first, "template:opinion", start))
        elif title and title.lower() not in cite.lower():
            citing.append(
                Question(f"What does {cite} ({title}) provide?", first, "template:heading", start)
            )
        else:
            citing.append(Question(f"What does {cite} provide?", first, "template:provide", start))
        about = subject(chunk)
        if law and about and not about.lower().startswith("recital"):
            text = _pick(chunk, PLAIN_TEMPLATES).format(subject=_lower(about), law=law)
            plain.append(Question(text, first, "template:plain", start))
    out: list[Question] = []
    for i in range(max(len(citing), len(plain))):
        out.extend(x[i] for x in (citing, plain) if i < len(x))
    return out[:limit]


def teacher_question_writer(
    base_url: str, model: str, timeout: float = 60.0, api_key: str | None = None
) -> QuestionWriter:
    """A question writer that asks a teacher model through the OpenAI-compatible chat API.

    Args:
        base_url: the server root (`http://host:8000`; `/v1` is added when missing).
        model: the served model name.
        timeout: seconds per request.
        api_key: bearer token, if the server wants one.

    Returns:
        A function chunk -> question (None when the teacher's reply is unusable).
    """
    import httpx

    root = base_url.rstrip("/")
    url = (root if root.endswith("/v1") else root + "/v1") + "/chat/completions"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    client = httpx.Client(timeout=timeout, headers=headers)

    def write(chunk: Chunk) -> str | None:
        passage = fmt.normalize_ws(chunk.text)[:1500]
        body = {
            "model": model,
            "messages": [
                {
                    "role": "system",
                    "content": "You write one question a lawyer could answer from a legal "
                    "passage. Reply with the question only, on one line.",
                },
                {"role": "user", "content": f"{chunk.citation}\n{passage}\n\nQuestion:"},
            ],
            "max_tokens": 64,
            "temperature": 0.0,
        }
        resp = client.post(url, json=body)
        resp.raise_for_status()
        content = resp.json()["choices"][0]["message"]["content"] or ""
        line = next((ln.strip() for ln in content.splitlines() if ln.strip()), "")
        line = line.replace(fmt.QUOTE_BEGIN, "").replace(fmt.QUOTE_END, "").strip()
        return line if len(line.split()) >= 3 else None

    return write
