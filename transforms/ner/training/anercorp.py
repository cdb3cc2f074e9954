"""ANERcorp (CAMeL Lab split) as read for training and scoring: `token tag` files, train/dev/test."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"  # beside the repository
DATA_DIR = SHARED_DATA / "anercorp"

DEV_SEED = 13
DEV_BLOCK = 50  # sentences per contiguous block (ANERcorp keeps a document's sentences together)
DEV_FRACTION = 0.1


def read_conll(path: Path) -> tuple[list[list[str]], list[list[str]]]:
    """Sentences of tokens and IOB2 tags (`PERS` renamed `PER`) from a `token tag` file."""
    sents: list[list[str]] = []
    tags: list[list[str]] = []
    cur_w: list[str] = []
    cur_t: list[str] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        line = line.strip()
        if not line:
            if cur_w:
                sents.append(cur_w)
                tags.append(cur_t)
                cur_w, cur_t = [], []
            continue
        word, _, tag = line.rpartition(" ")
        if not word:  # a line holding only one field: a token with no tag
            word, tag = tag, "O"
        cur_w.append(word)
        cur_t.append(tag.replace("PERS", "PER"))
    if cur_w:
        sents.append(cur_w)
        tags.append(cur_t)
    return sents, tags


def dev_blocks(n_sents: int) -> np.ndarray:
    """Boolean mask of train sentences held out as dev: 10% of contiguous blocks, fixed seed."""
    n_blocks = (n_sents + DEV_BLOCK - 1) // DEV_BLOCK
    rng = np.random.default_rng(DEV_SEED)
    picked = rng.choice(n_blocks, size=max(1, round(n_blocks * DEV_FRACTION)), replace=False)
    mask = np.zeros(n_sents, dtype=bool)
    for b in picked:
        mask[b * DEV_BLOCK : (b + 1) * DEV_BLOCK] = True
    return mask


def load_splits(data_dir: Path = DATA_DIR) -> dict[str, tuple[list[list[str]], list[list[str]]]]:
    """`full` (all of train), `train` (full minus dev), `dev`, and `test`."""
    s, t = read_conll(data_dir / "ANERCorp_CamelLab_train.txt")
    mask = dev_blocks(len(s))
    ts, tt = read_conll(data_dir / "ANERCorp_CamelLab_test.txt")
    keep = [i for i, m in enumerate(mask) if not m]
    held = [i for i, m in enumerate(mask) if m]
    return {
        "full": (s, t),
        "train": ([s[i] for i in keep], [t[i] for i in keep]),
        "dev": ([s[i] for i in held], [t[i] for i in held]),
        "test": (ts, tt),
    }
