"""Learning what a reader likes: TF-IDF of titles and abstracts, a linear SVM per profile.

Owns the features (word and word-pair TF-IDF, sublinear, L2-normalised) and the
learner (scikit-learn's LinearSVC with balanced class weights: a handful of liked
papers against hundreds of others, as arxiv-sanity-lite does), and the nearest liked
paper of each candidate (cosine similarity). scikit-learn is imported here only, and
only when a model is built: commands that rank nothing never pay for it. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .._update.normalize import html_to_text
from .order import MIN_SIMILARITY

#: Most distinct words and word pairs the vectoriser keeps.
MAX_FEATURES = 50_000


class Classifier(Protocol):
    def decision_function(self, features: Any) -> Any: ...


#: Fits a classifier to (features, labels): the seam tests count calls through.
Fit = Callable[[Any, Sequence[int]], Classifier]


def fit_linear_svm(features: Any, labels: Sequence[int]) -> Classifier:
    """A linear SVM, deterministic (fixed random_state), weighted for the few positives."""
    from sklearn.svm import LinearSVC

    model = LinearSVC(
        C=0.1, class_weight="balanced", max_iter=10_000, tol=1e-5, random_state=0, dual="auto"
    )
    model.fit(features, labels)
    fitted: Classifier = model
    return fitted


def text_of(title: str, summary: str) -> str:
    """The text a model reads: the title (twice: it says the most) and the abstract."""
    body = html_to_text(summary) if "<" in summary or "&" in summary else summary
    return f"{title}\n{title}\n{body}"


@dataclass
class Corpus:
    """TF-IDF rows of a set of entries, by key (one vectoriser for every profile)."""

    vectorizer: Any
    rows: dict[str, int]
    matrix: Any

    @classmethod
    def build(cls, texts: Mapping[str, str]) -> Corpus:
        from sklearn.feature_extraction.text import TfidfVectorizer

        keys = sorted(texts)
        vectorizer = TfidfVectorizer(
            strip_accents="unicode",
            lowercase=True,
            stop_words="english",
            ngram_range=(1, 2),
            max_features=MAX_FEATURES,
            sublinear_tf=True,
            min_df=1,
            max_df=0.5 if len(keys) >= 20 else 1.0,
            dtype=_float32(),
        )
        matrix = vectorizer.fit_transform([texts[key] for key in keys])
        return cls(vectorizer, {key: index for index, key in enumerate(keys)}, matrix)

    def add(self, texts: Mapping[str, str]) -> None:
        """Rows for entries the vectoriser was not fitted on (its vocabulary unchanged)."""
        from scipy.sparse import vstack

        new = sorted(key for key in texts if key not in self.rows)
        if not new:
            return
        extra = self.vectorizer.transform([texts[key] for key in new])
        start = self.matrix.shape[0]
        self.matrix = vstack([self.matrix, extra], format="csr")
        self.rows.update({key: start + index for index, key in enumerate(new)})

    def of(self, keys: Sequence[str]) -> Any:
        return self.matrix[[self.rows[key] for key in keys]]


def _float32() -> Any:
    import numpy

    return numpy.float32


def score(
    corpus: Corpus,
    *,
    liked: Sequence[str],
    negatives: Sequence[str],
    candidates: Sequence[str],
    fit: Fit = fit_linear_svm,
) -> dict[str, tuple[float, str | None]]:
    """(score, nearest liked key) of each candidate: the model's decision value (higher
    is more like the liked papers), and the liked paper most similar to it (None when
    none is similar at all)."""
    others = [key for key in negatives if key not in set(liked)]
    train = [*liked, *others]
    labels = [1] * len(liked) + [0] * len(others)
    model = fit(corpus.of(train), labels)
    features = corpus.of(candidates)
    values = model.decision_function(features)
    similarity = (features @ corpus.of(liked).T).toarray()
    found: dict[str, tuple[float, str | None]] = {}
    for index, key in enumerate(candidates):
        best = int(similarity[index].argmax())
        near = liked[best] if similarity[index, best] >= MIN_SIMILARITY else None
        found[key] = (round(float(values[index]), 6), near)
    return found
