"""Text helpers shared by the adapters: whitespace, enumeration labels, pinpoint trees.

Legal text is quoted by lawyers, so the adapters change nothing but whitespace: runs of
spaces, tabs, newlines and no-break spaces become one space, control characters (a few
rule files carry NUL bytes from PDF form fields) are dropped.

Enumerated provisions (`(a)`, `(1)`, `(A)`, `(i)`, `(I)`) are nested by *kind of label*,
not by a fixed order, because sources differ: the Civil Rules go (a)(1)(A)(i), the
Supplemental Rules go (1)(a)(i)(A). `PinpointTreeBuilder` keeps a stack of the label kinds
seen so far; a new label either continues a level already open (it is the successor of that
level's last label: `(i)` after `(h)` is a letter, after nothing it is a roman one), or opens a
new level under the current one.

    >>> b = PinpointTreeBuilder("Fed. R. Civ. P. 12")
    >>> b.add("b", text="How to Present Defenses.")
    True
    >>> b.add("6", text="failure to state a claim ...")
    True
    >>> [s.pinpoint for s in b.build()[0].walk()]
    ['(b)', '(b)(6)']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from legal_corpus.model import Section

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

DIGIT = "digit"
LOWER = "lower"
UPPER = "upper"
LOWER_ROMAN = "lower_roman"
UPPER_ROMAN = "upper_roman"

_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
_ROMAN_RE = re.compile(r"^m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")


def normalize_ws(text: str) -> str:
    """Collapse whitespace runs to one space, drop control characters, strip.

    Args:
        text: raw text from a source file.

    Returns:
        The text with only its whitespace changed.
    """
    # str.split() splits on every Unicode space (no-break spaces included)
    return " ".join(_CONTROL.sub("", text).split())


def join_blocks(blocks: list[str]) -> str:
    """Join normalised text blocks (chapeau, content, continuation) with newlines.

    Args:
        blocks: text blocks in document order; empty ones are dropped.

    Returns:
        The blocks joined by `\\n`.
    """
    return "\n".join(b for b in blocks if b)


def roman_value(label: str) -> int | None:
    """The value of a lower- or upper-case roman numeral, or None if `label` is not one."""
    low = label.lower()
    if not low or not _ROMAN_RE.match(low):
        return None
    total = 0
    for i, ch in enumerate(low):
        v = _ROMAN[ch]
        if i + 1 < len(low) and _ROMAN[low[i + 1]] > v:
            total -= v
        else:
            total += v
    return total


def _letter_value(label: str) -> int | None:
    # (a)..(z), then (aa), (bb) ... as the US Code and the rules write them
    if not label.isalpha() or len(set(label.lower())) != 1:
        return None
    return (ord(label[0].lower()) - ord("a") + 1) + 26 * (len(label) - 1)


def label_kinds(label: str) -> dict[str, int]:
    """Every kind an enumeration label can be read as, with its ordinal in that kind.

    Args:
        label: the label without parentheses (`a`, `12`, `iv`, `B`).

    Returns:
        kind -> ordinal, e.g. `{"lower": 9, "lower_roman": 1}` for `i`.
    """
    kinds: dict[str, int] = {}
    if label.isdigit():
        kinds[DIGIT] = int(label)
        return kinds
    letter = _letter_value(label)
    roman = roman_value(label)
    if label.islower():
        if letter is not None:
            kinds[LOWER] = letter
        if roman is not None:
            kinds[LOWER_ROMAN] = roman
    elif label.isupper():
        if letter is not None:
            kinds[UPPER] = letter
        if roman is not None:
            kinds[UPPER_ROMAN] = roman
    return kinds


@dataclass
class _Node:
    label: str
    kind: str
    ordinal: int
    heading: str = ""
    texts: list[str] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)


def _introduces_list(node: _Node) -> bool:
    """Whether an item's words so far end as the words before a list do."""
    return bool(node.texts) and node.texts[-1].rstrip().endswith((":", "—", "–"))


class PinpointTreeBuilder:
    """Builds a tree of `Section`s from enumerated items given in document order.

    Args:
        citation: the document citation the pinpoints are appended to
            (`Fed. R. Civ. P. 12` gives `Fed. R. Civ. P. 12(b)(6)`).

    Text given before the first label, or with `add_text`, belongs to the innermost open
    item (or to the body when none is open).
    """

    def __init__(self, citation: str) -> None:
        self.citation = citation
        self.body: list[str] = []
        self._roots: list[_Node] = []
        self._stack: list[_Node] = []

    def place(self, label: str, strict: bool = False) -> int | None:
        """Where `label` would go: the stack depth it would sit at, or None.

        Args:
            label: the label without parentheses.
            strict: when True, accept only a label that continues an open level or starts
                a new one at its first value (`a`, `1`, `A`, `i`, `I`); used for labels
                found inside running text, where `(c)` may just be a cross-reference.

        Returns:
            the depth (0 = top level) or None when rejected (strict) or not a label.
        """
        kinds = label_kinds(label)
        if not kinds:
            return None
        open_kinds = {n.kind for n in self._stack}
        starts = [k for k, v in kinds.items() if v == 1 and k not in open_kinds]
        # an open item whose words end by introducing a list (a colon or a dash) is followed
        # by its own first item: `(i)` after "(B) failing to either:" is a roman numeral
        # under (B), not the letter after an open (h) (Fed. R. Civ. P. 12(h)(1)(B)(i))
        if starts and self._stack and _introduces_list(self._stack[-1]):
            return len(self._stack)
        # continues an open level?
        for depth in range(len(self._stack) - 1, -1, -1):
            node = self._stack[depth]
            if kinds.get(node.kind) == node.ordinal + 1:
                return depth
        if starts:
            return len(self._stack)
        if strict:
            return None
        # out of sequence (a source's numbering gap): a sibling at the deepest level of a
        # matching kind, else a new level
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth].kind in kinds:
                return depth
        return len(self._stack)

    def _kind_at(self, label: str, depth: int) -> tuple[str, int]:
        kinds = label_kinds(label)
        if depth < len(self._stack):
            node = self._stack[depth]
            if node.kind in kinds:
                return node.kind, kinds[node.kind]
        open_kinds = {n.kind for n in self._stack[:depth]}
        # prefer a kind that starts at 1 and is not open above (roman `i` under a letter)
        for kind, value in kinds.items():
            if value == 1 and kind not in open_kinds:
                return kind, value
        # `i` with letters open (h closed) and nothing else: keep the first reading
        kind = next(iter(kinds))
        return kind, kinds[kind]

    def add(self, label: str, heading: str = "", text: str = "", strict: bool = False) -> bool:
        """Open the item `label` with its heading and own text.

        Args:
            label: the label without parentheses.
            heading: the item's caption, if any.
            text: the item's own text.
            strict: see `place`.

        Returns:
            True when added; False when rejected (strict mode) — then nothing changed.
        """
        depth = self.place(label, strict=strict)
        if depth is None:
            return False
        kind, ordinal = self._kind_at(label, depth)
        node = _Node(label=label, kind=kind, ordinal=ordinal, heading=heading)
        if text:
            node.texts.append(text)
        del self._stack[depth:]
        if self._stack:
            self._stack[-1].children.append(node)
        else:
            self._roots.append(node)
        self._stack.append(node)
        return True

    def add_text(self, text: str) -> None:
        """Append running text to the innermost open item (or the body)."""
        if not text:
            return
        if self._stack:
            self._stack[-1].texts.append(text)
        else:
            self.body.append(text)

    def build(self) -> list[Section]:
        """The top-level items as frozen `Section`s, pinpoints made unique.

        A label repeated at the same place (a numbering slip in the source) gets a `[2]`
        suffix, so that every pinpoint in a document names one section.
        """
        seen: set[str] = set()

        def convert(node: _Node, prefix: str) -> Section:
            pin = f"{prefix}({node.label})"
            if pin in seen:
                n = 2
                while f"{pin}[{n}]" in seen:
                    n += 1
                pin = f"{pin}[{n}]"
            seen.add(pin)
            return Section(
                pinpoint=pin,
                citation=f"{self.citation}{pin}",
                heading=node.heading,
                text=" ".join(node.texts),
                children=tuple(convert(c, pin) for c in node.children),
            )

        return [convert(n, "") for n in self._roots]


def unique_pinpoint(pinpoint: str, seen: set[str]) -> str:
    """`pinpoint`, or `pinpoint[2]`, `[3]`… when already in `seen`; records the result.

    Args:
        pinpoint: the pinpoint as the source gives it.
        seen: pinpoints already used in the document (updated).

    Returns:
        A pinpoint not used before in the document.
    """
    pin = pinpoint
    n = 2
    while pin in seen:
        pin = f"{pinpoint}[{n}]"
        n += 1
    seen.add(pin)
    return pin
