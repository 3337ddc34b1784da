"""The tool registry: register, get, list, search by meaning, render docs for prompts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meta_agent.tools.base import BaseTool


@dataclass(frozen=True)
class ToolMatch:
    name: str
    score: float
    description: str


class ToolRegistry:
    def __init__(self, tools: Iterable[BaseTool] = ()):
        self._tools: dict[str, BaseTool] = {}
        self._index = None
        for t in tools:
            self.register(t)

    def register(self, tool: BaseTool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"a tool named '{tool.name}' is already registered")
        self._tools[tool.name] = tool
        self._index = None

    def get(self, name: str) -> BaseTool:
        try:
            return self._tools[name]
        except KeyError:
            raise KeyError(f"no tool named '{name}'; registered tools: {', '.join(sorted(self._tools))}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return sorted(self._tools)

    def list(self, category: str | None = None) -> list[BaseTool]:
        return [t for _, t in sorted(self._tools.items()) if category in (None, t.category)]

    def search(self, query: str, k: int = 5) -> list[ToolMatch]:
        """Tools ranked by TF-IDF cosine similarity of ``query`` to name, description,
        keywords and parameter descriptions (names split on underscores)."""
        # local: sklearn takes ~1.4 s to import; only a search needs it
        from sklearn.metrics.pairwise import linear_kernel

        if not self._tools:
            return []
        vectorizer, matrix, names = self._build_index()
        scores = linear_kernel(vectorizer.transform([query]), matrix).ravel()
        ranked = sorted(zip(names, scores, strict=True), key=lambda x: (-x[1], x[0]))[:k]
        return [ToolMatch(n, float(s), self._tools[n].description) for n, s in ranked if s > 0]

    def render_docs(self, names: Iterable[str] | None = None) -> str:
        chosen = [self.get(n) for n in names] if names is not None else self.list()
        return "\n\n".join(t.render_doc() for t in chosen)

    def _build_index(self):
        if self._index is None:
            # local: sklearn takes ~1.4 s to import; the index is built on the first search
            from sklearn.feature_extraction.text import TfidfVectorizer

            names = sorted(self._tools)
            docs = [_document(self._tools[n]) for n in names]
            vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
            self._index = (vectorizer, vectorizer.fit_transform(docs), names)
        return self._index


def _document(tool: BaseTool) -> str:
    params = " ".join(f"{k} {v.get('description', '')}" for k, v in tool.parameters.get("properties", {}).items())
    return " ".join([tool.name.replace("_", " "), tool.name, tool.description, " ".join(tool.keywords), params])
