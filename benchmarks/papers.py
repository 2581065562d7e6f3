"""Generated papers of several research topics, for the ranking benchmark and tests.

Titles and abstracts are written from templates and per-topic vocabularies of our own
(never copied from arXiv): each paper draws its method, task, data and findings from
its topic, and its framing from words every topic shares, so topics overlap in
wording the way real abstracts do. The same seed gives the same papers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

TOPICS: dict[str, dict[str, list[str]]] = {
    "rl": {
        "method": [
            "policy gradient",
            "actor-critic",
            "Q-learning",
            "model-based planning",
            "offline reinforcement learning",
            "reward shaping",
            "proximal policy optimization",
        ],
        "task": [
            "continuous control",
            "robot locomotion",
            "Atari games",
            "sparse-reward exploration",
            "multi-agent coordination",
            "sim-to-real transfer",
        ],
        "thing": [
            "value function",
            "replay buffer",
            "exploration bonus",
            "reward model",
            "discount factor",
            "trajectory",
            "environment dynamics",
        ],
        "data": ["MuJoCo", "D4RL", "Procgen", "the Arcade Learning Environment"],
    },
    "graphs": {
        "method": [
            "graph neural network",
            "message passing",
            "graph transformer",
            "spectral convolution",
            "graph contrastive learning",
            "node embedding",
        ],
        "task": [
            "node classification",
            "link prediction",
            "molecular property prediction",
            "community detection",
            "knowledge graph completion",
            "graph generation",
        ],
        "thing": [
            "adjacency matrix",
            "over-smoothing",
            "neighbourhood aggregation",
            "heterophily",
            "graph pooling",
            "positional encoding of nodes",
        ],
        "data": ["OGB", "Cora and Citeseer", "QM9", "ZINC"],
    },
    "vision": {
        "method": [
            "vision transformer",
            "convolutional backbone",
            "diffusion model",
            "masked image modelling",
            "feature pyramid",
            "self-supervised pretraining",
        ],
        "task": [
            "semantic segmentation",
            "object detection",
            "image generation",
            "depth estimation",
            "video understanding",
            "image restoration",
        ],
        "thing": [
            "image patches",
            "bounding boxes",
            "pixel labels",
            "receptive field",
            "augmentations",
            "high-resolution features",
        ],
        "data": ["ImageNet", "COCO", "ADE20K", "Cityscapes"],
    },
    "translation": {
        "method": [
            "neural machine translation",
            "multilingual pretraining",
            "back-translation",
            "sequence-to-sequence transformer",
            "subword tokenisation",
            "quality estimation",
        ],
        "task": [
            "low-resource translation",
            "document-level translation",
            "speech translation",
            "terminology-constrained translation",
            "zero-shot translation",
        ],
        "thing": [
            "source sentence",
            "target language",
            "BLEU",
            "parallel corpus",
            "vocabulary",
            "alignment of words",
        ],
        "data": ["WMT", "FLORES", "OPUS", "IWSLT"],
    },
    "quantum": {
        "method": [
            "variational quantum eigensolver",
            "quantum error correction",
            "surface code decoding",
            "quantum approximate optimization",
            "tensor network simulation",
            "randomised benchmarking",
        ],
        "task": [
            "ground-state estimation",
            "fault-tolerant computation",
            "qubit calibration",
            "quantum chemistry",
            "noise characterisation",
        ],
        "thing": [
            "qubits",
            "logical error rate",
            "circuit depth",
            "entanglement",
            "decoherence",
            "gate fidelity",
        ],
        "data": ["superconducting devices", "trapped-ion hardware", "noisy simulators"],
    },
    "proteins": {
        "method": [
            "protein language model",
            "structure prediction network",
            "equivariant neural network",
            "inverse folding",
            "docking model",
        ],
        "task": [
            "protein design",
            "binding affinity prediction",
            "structure prediction",
            "enzyme engineering",
            "antibody optimisation",
        ],
        "thing": [
            "amino acid sequences",
            "residues",
            "backbone coordinates",
            "binding pockets",
            "multiple sequence alignments",
            "side chains",
        ],
        "data": ["the Protein Data Bank", "CASP targets", "UniProt", "SAbDab"],
    },
    "speech": {
        "method": [
            "self-supervised speech model",
            "end-to-end recogniser",
            "neural vocoder",
            "conformer encoder",
            "CTC training",
            "speaker embedding",
        ],
        "task": [
            "automatic speech recognition",
            "text-to-speech",
            "speaker verification",
            "speech enhancement",
            "keyword spotting",
        ],
        "thing": [
            "acoustic features",
            "spectrograms",
            "word error rate",
            "phonemes",
            "prosody",
            "audio frames",
        ],
        "data": ["LibriSpeech", "Common Voice", "VoxCeleb", "VCTK"],
    },
    "databases": {
        "method": [
            "learned index",
            "query optimiser",
            "cardinality estimation model",
            "log-structured merge tree",
            "vectorised execution",
            "concurrency control",
        ],
        "task": [
            "join ordering",
            "transaction processing",
            "approximate query answering",
            "index tuning",
            "stream processing",
        ],
        "thing": [
            "query plans",
            "workloads",
            "latency",
            "throughput",
            "storage layout",
            "buffer pool",
        ],
        "data": ["TPC-H", "the Join Order Benchmark", "YCSB", "production traces"],
    },
}

SHARED = {
    "open": ["We study", "This paper addresses", "We revisit", "We investigate", "We consider"],
    "claim": [
        "state-of-the-art results",
        "consistent gains",
        "strong generalisation",
        "a better trade-off between cost and accuracy",
        "competitive performance",
    ],
    "adj": ["scalable", "efficient", "robust", "simple", "principled", "adaptive"],
    "verb": ["improves", "outperforms", "matches", "simplifies", "stabilises"],
    "extra": [
        "with fewer parameters",
        "at a fraction of the compute",
        "without extra labels",
        "under distribution shift",
        "across model sizes",
    ],
}

FIRST = [
    "Ada",
    "Bo",
    "Chen",
    "Dana",
    "Elif",
    "Femi",
    "Gita",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zofia",
]
LAST = [
    "Abara",
    "Brandt",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fujita",
    "Gallo",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Laurent",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Santos",
    "Tanaka",
    "Umarov",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhou",
]


@dataclass(frozen=True)
class Paper:
    topic: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    link: str


def paper(topic: str, rng: random.Random, number: int, *, prefix: str = "p") -> Paper:
    """One generated paper of ``topic``."""
    words = TOPICS[topic]
    # A third of the papers bring a method from another field to this one's task
    # ("graph neural network for protein design"): topics share words, as real ones do.
    lender = rng.choice([t for t in TOPICS if t != topic]) if rng.random() < 0.35 else topic
    method, task = rng.choice(TOPICS[lender]["method"]), rng.choice(words["task"])
    thing, other = rng.sample(words["thing"], 2)
    data = rng.choice(words["data"])
    adj = rng.choice(SHARED["adj"])
    title = rng.choice(
        [
            f"{adj.capitalize()} {method} for {task}",
            f"On the role of {thing} in {task}",
            f"Rethinking {thing} for {method}",
            f"{method.capitalize()} with {adj} {other} for {task}",
            f"Towards {adj} {task} via {method}",
        ]
    )
    # A sentence of another topic now and then: abstracts borrow each other's words.
    borrowed = rng.choice([t for t in TOPICS if t != topic])
    stray = rng.choice(TOPICS[borrowed]["thing"]) if rng.random() < 0.3 else thing
    abstract = (
        f"{rng.choice(SHARED['open'])} {task} with {method}. Existing approaches treat "
        f"{thing} and {other} separately, which limits them when {stray} varies. "
        f"We propose a {adj} formulation that couples {thing} with {other} and "
        f"{rng.choice(SHARED['verb'])} strong baselines {rng.choice(SHARED['extra'])}. "
        f"Experiments on {data} show {rng.choice(SHARED['claim'])}, and an analysis of "
        f"{rng.choice(words['thing'])} explains where the gains come from."
    )
    authors = tuple(f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 4)))
    return Paper(topic, title, abstract, authors, f"https://papers.example.org/{prefix}{number}")


def papers(
    count: int, *, seed: int, topics: list[str] | None = None, prefix: str = "p"
) -> list[Paper]:
    """``count`` papers cycling through ``topics`` (default: all), shuffled."""
    rng = random.Random(seed)
    names = topics or sorted(TOPICS)
    found = [paper(names[n % len(names)], rng, n, prefix=prefix) for n in range(count)]
    rng.shuffle(found)
    return found


def rss(items: list[Paper], *, day: datetime, category: str = "papers") -> str:
    """An RSS 2.0 feed of ``items``, one minute apart from ``day`` (UTC)."""
    start = day.astimezone(UTC)
    parts = []
    for index, item in enumerate(items):
        when = format_datetime(start + timedelta(minutes=index))
        authors = "".join(f"<dc:creator>{escape(a)}</dc:creator>" for a in item.authors)
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{item.link}</link>"
            f"<guid>{item.link}</guid><pubDate>{when}</pubDate>{authors}"
            f"<category>{category}</category><description>{escape(item.abstract)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>papers</title>'
        "<link>https://papers.example.org/</link><description>generated</description>"
        f"{''.join(parts)}</channel></rss>"
    )
