"""Arabic named-entity tagger (ANERcorp types PER, ORG, LOC, MISC) that runs on CPU with numpy and polars.

    tagger = Tagger.load()                    # the committed model in transforms/ner/model/
    tagger.tag([["قال", "الرئيس", "بشار", "الأسد"]])  # -> [["O", "O", "B-PER", "I-PER"]]

Tokens are whitespace tokens with clitics attached, as in ANERcorp. See MODEL_CARD.md.
Tagging imports only run-time modules; training and scoring live in `transforms.ner.training`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"

__all__ = ["MODEL_DIR", "Tagger"]


class Tagger:
    """IOB2 tagging of whole batches of tokenised sentences."""

    def __init__(self, model) -> None:
        self._model = model

    @classmethod
    def load(cls, path: Path | None = None) -> Tagger:
        """The model stored in `path` (default: the committed one)."""
        from .model import NERModel

        return cls(NERModel.load(Path(path) if path is not None else MODEL_DIR))

    def tag(
        self,
        sentences: list[list[str]],
        doc_ids: Sequence[Hashable] | None = None,
        context_radius: int | None = None,
    ) -> list[list[str]]:
        """One IOB2 tag per token, always a valid IOB2 sequence; empty sentences give empty lists.

        With `doc_ids` (one per sentence, e.g. the article id), names tagged somewhere in a
        document are also tagged where they repeat untagged in that document; `context_radius`
        narrows a sentence's document to the sentences at most that many places away (for
        streams whose document boundaries are unknown). Without `doc_ids` every sentence is
        tagged on its own, so the result never depends on how the batch was cut.
        """
        if doc_ids is not None and len(doc_ids) != len(sentences):
            raise ValueError(f"{len(doc_ids)} doc_ids for {len(sentences)} sentences")
        if context_radius is not None and context_radius < 0:
            raise ValueError(f"context_radius must be >= 0, not {context_radius}")
        return self._model.tag(sentences, doc_ids, context_radius)  # read only: no copies
