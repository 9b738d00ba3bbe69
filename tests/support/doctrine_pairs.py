"""A few hand-checkable training pairs (doctrine name -> the provision's passage) for the
embedder and reranker training tests."""

from __future__ import annotations

from dataclasses import replace

from indexing.tuning.pairs import Pair

EXCITED_UTTERANCE = Pair(
    "excited utterance",
    "Fed. R. Evid. 803(2). Excited Utterance. A statement relating to a startling event, made "
    "while the declarant was under the stress of excitement.",
    "question",
    "fre:803",
    "(2)",
)
PRESENT_SENSE = Pair(
    "present sense impression",
    "Fed. R. Evid. 803(1). Present Sense Impression. A statement describing an event, made "
    "while or immediately after the declarant perceived it.",
    "heading",
    "fre:803",
    "(1)",
)
SETTLEMENT = Pair(
    "settlement offers as evidence",
    "Fed. R. Evid. 408. Compromise Offers and Negotiations. Evidence of furnishing, promising, "
    "or offering a valuable consideration in compromising the claim is not admissible.",
    "heading",
    "fre:408",
    "",
)
MEDICAL_EXPENSES = Pair(
    "paying medical expenses",
    "Fed. R. Evid. 409. Offers to Pay Medical and Similar Expenses. Evidence of furnishing, "
    "promising to pay, or offering to pay medical, hospital, or similar expenses resulting "
    "from an injury is not admissible.",
    "heading",
    "fre:409",
    "",
)
FORGOTTEN = Pair(
    "right to be forgotten",
    "GDPR Art. 17. Right to erasure. The data subject shall have the right to obtain from the "
    "controller the erasure of personal data.",
    "heading",
    "gdpr:art17",
    "",
)
FAIR_USE = Pair(
    "fair use",
    "17 U.S.C. § 107. Limitations on exclusive rights: Fair use. The fair use of a copyrighted "
    "work, including such use by reproduction, is not an infringement.",
    "heading",
    "usc:17/107",
    "",
)
# one provision each
PAIRS = [EXCITED_UTTERANCE, SETTLEMENT, FORGOTTEN, FAIR_USE]
# the same, each with a hard negative: a sibling subdivision where the rule has one
WITH_NEGATIVES = [
    replace(EXCITED_UTTERANCE, negative=PRESENT_SENSE.passage),
    replace(SETTLEMENT, negative=MEDICAL_EXPENSES.passage),
    replace(FORGOTTEN, negative=FAIR_USE.passage),
    replace(FAIR_USE, negative=FORGOTTEN.passage),
]
