"""Teaching the retrieval models the corpus's own vocabulary (`train-embedder`, `train-reranker`).

The corpus says what its provisions are about in its own words — headings and captions name
what a section does, definitions pair a term with its meaning, and a sentence citing a
provision says what it is cited for — so training pairs come from it alone (`pairs`), and
the bundled MiniLM is adapted to them on CPU (`embedder`, `reranker`). Needs the `tuning`
extra (`datasets`, `accelerate`) besides the `indexing` one; nothing is downloaded.
"""
