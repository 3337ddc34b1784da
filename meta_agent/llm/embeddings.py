"""Offline, deterministic text embeddings.

- ``hashing_embed``: stateless feature hashing of word uni/bi-grams and character trigrams
  (scikit-learn ``HashingVectorizer``, fixed murmurhash seed), log-scaled and L2-normalized.
  The same text gives the same vector in every process and every run, with no fitted state —
  safe to store and compare across days. This is the offline gateway's ``embed``.
- ``TfidfEmbedder``: TF-IDF fitted on a corpus, reduced with truncated SVD (LSA) to a dense,
  smaller space — better neighbours within one corpus (e.g. clustering a week's failures),
  but vectors are only comparable within the same fitted model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

HASHING_MODEL = "offline:hashing-v1"
DEFAULT_DIM = 384

_WORD = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")


def _tokens(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    grams = list(words)
    grams += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    for w in words:
        padded = f"<{w}>"
        grams += [f"#{padded[i:i + 3]}" for i in range(max(1, len(padded) - 2))]
    return grams


def hashing_embed(texts: Sequence[str], dim: int = DEFAULT_DIM) -> np.ndarray:
    """(len(texts), dim) float32, rows L2-normalized (an empty text gives a zero row)."""
    # local: sklearn takes ~1.4 s to import; only embedding calls need it
    from sklearn.feature_extraction.text import HashingVectorizer

    if isinstance(texts, str):
        raise TypeError("hashing_embed takes a list of texts, not one string")
    vec = HashingVectorizer(n_features=dim, analyzer=_tokens, alternate_sign=True, norm=None)
    m = vec.transform([str(t) for t in texts]).toarray()
    m = np.sign(m) * np.log1p(np.abs(m))
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0).astype(np.float32)


class TfidfEmbedder:
    """TF-IDF + truncated SVD, fitted on a corpus; ``transform`` gives L2-normalized rows."""

    def __init__(self, dim: int = 128, random_state: int = 0):
        self.dim = dim
        self.random_state = random_state
        self._vectorizer = None
        self._svd = None

    def fit(self, corpus: Sequence[str]) -> TfidfEmbedder:
        # local: sklearn takes ~1.4 s to import, and only fitting needs it
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        x = self._vectorizer.fit_transform([str(t) for t in corpus])
        k = max(1, min(self.dim, x.shape[1] - 1, x.shape[0] - 1))
        self._svd = TruncatedSVD(n_components=k, random_state=self.random_state) if k >= 2 else None
        if self._svd is not None:
            self._svd.fit(x)
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if self._vectorizer is None:
            raise RuntimeError("TfidfEmbedder.transform called before fit")
        x = self._vectorizer.transform([str(t) for t in texts])
        m = self._svd.transform(x) if self._svd is not None else x.toarray()
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0).astype(np.float32)

    def fit_transform(self, corpus: Sequence[str]) -> np.ndarray:
        return self.fit(corpus).transform(corpus)
