"""A trainable intent classifier: multinomial naive Bayes over words and word pairs.

Small, deterministic and fast (microseconds per message), trained from labelled examples so
that a chatbot can be retrained on its own dataset. Confidence is the posterior probability.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_TOKEN = re.compile(r"[a-z0-9']+")


def features(text: str) -> list[str]:
    words = _TOKEN.findall(text.lower())
    return words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()


@dataclass
class IntentClassifier:
    alpha: float = 0.5
    log_priors: dict[str, float] = field(default_factory=dict)
    log_likelihoods: dict[str, dict[str, float]] = field(default_factory=dict)
    log_unseen: dict[str, float] = field(default_factory=dict)
    vocabulary: frozenset[str] = frozenset()

    @classmethod
    def train(cls, examples: Iterable[Example], alpha: float = 0.5) -> IntentClassifier:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        documents: Counter[str] = Counter()
        for example in examples:
            documents[example.intent] += 1
            counts[example.intent].update(features(example.text))
        if len(documents) < 2:
            raise ValueError("training needs examples of at least two intents")
        vocabulary = frozenset(token for counter in counts.values() for token in counter)
        total_documents = sum(documents.values())
        model = cls(alpha=alpha, vocabulary=vocabulary)
        for intent, counter in counts.items():
            denominator = sum(counter.values()) + alpha * len(vocabulary)
            model.log_priors[intent] = math.log(documents[intent] / total_documents)
            model.log_likelihoods[intent] = {
                token: math.log((count + alpha) / denominator) for token, count in counter.items()
            }
            model.log_unseen[intent] = math.log(alpha / denominator)
        return model

    @property
    def intents(self) -> list[str]:
        return sorted(self.log_priors)

    def predict(self, text: str) -> Prediction:
        tokens = [token for token in features(text) if token in self.vocabulary]
        scores = {}
        for intent, prior in self.log_priors.items():
            likelihoods, unseen = self.log_likelihoods[intent], self.log_unseen[intent]
            scores[intent] = prior + sum(likelihoods.get(token, unseen) for token in tokens)
        top = max(scores.values())
        exp_scores = {intent: math.exp(score - top) for intent, score in scores.items()}
        total = sum(exp_scores.values())
        ranking = tuple(sorted(((i, s / total) for i, s in exp_scores.items()),
                               key=lambda pair: (-pair[1], pair[0])))
        intent, confidence = ranking[0]
        if not tokens:
            return Prediction("other", 0.0, ranking)
        return Prediction(intent, round(confidence, 4), ranking)

    def accuracy(self, examples: Sequence[Example]) -> float:
        if not examples:
            return 0.0
        hits = sum(1 for example in examples if self.predict(example.text).intent == example.intent)
        return hits / len(examples)


def split_examples(
    examples: Sequence[Example], holdout_every: int = 5
) -> tuple[list[Example], list[Example]]:
    """A deterministic held-out split: every n-th example of each intent is held out."""
    seen: Counter[str] = Counter()
    train: list[Example] = []
    test: list[Example] = []
    for example in examples:
        seen[example.intent] += 1
        (test if seen[example.intent] % holdout_every == 0 else train).append(example)
    return train, test
