"""The source documents' published numbers, as data to set beside ours.

Values are transcribed from the tables of the documents in ``shared/seeds``
(cited by file name) and are never produced by initlab. Accuracies are in
percent, as printed.
"""

from __future__ import annotations

import pandas as pd

SOURCES = {
    "000": "Desai, Impact of Weight Initialization Techniques on Neural Network Efficiency and "
    "Performance: A Case Study with MNIST Dataset, IJECS 13(4), 2024 (000_5f419284b061c44b.txt)",
    "001": "Patel, Nandu & Raut, Initialization of Weights in Neural Networks, 2019 (001_4ffb92c45e2663f8.txt)",
    "002": "Kakujo, Weight Initialization in Deep Learning, 2022 (002_aee8d08a7a4b8178.txt)",
    "003": "Weight Initialisation, a Keras tutorial page (003_7feae8cb6a341968.txt)",
    "004": "Improving Neural Network Convergence with Advanced Weight Initialization Techniques, "
    "a blog post (004_89339e7897266897.txt)",
}

# 000, Table 1: MNIST, Flatten -> Dense(128, relu) -> Dense(10, softmax), Adam, 5 epochs, 20% validation.
_DESAI_TABLE_1 = [
    # init, train first, train last, val first, val last, test
    ("random_normal", 91.74, 98.51, 95.72, 97.17, 97.30),
    ("random_uniform", 91.59, 98.43, 95.77, 97.18, 97.45),
    ("glorot_uniform", 91.88, 98.49, 95.28, 97.40, 97.78),
    ("he_normal", 91.91, 98.46, 95.57, 97.42, 97.54),
]
DESAI_RANKING = ["glorot_uniform", "he_normal", "random_uniform", "random_normal"]

# 001, Tables 1 ("model accuracies", %) and 2 ("model losses"): zero, random, "Xavier", He. The paper does
# not say on which data they were measured (notebook 04 identifies it: training accuracy of the last epoch).
_PATEL = {
    # init: (MNIST, CIFAR-10, Fashion-MNIST) accuracy, then loss
    "zeros": ((11.24, 9.75, 9.85), (2.3012, 2.3026, 2.3026)),
    "randn_001": ((98.34, 74.58, 92.11), (0.0549, 0.7224, 0.2095)),
    "randn_lecun": ((98.60, 77.76, 93.74), (0.0464, 0.6386, 0.1666)),
    "randn_he": ((98.92, 80.17, 95.15), (0.0334, 0.5647, 0.1295)),
}
_PATEL_DATASETS = ("mnist", "cifar10", "fashion_mnist")  # the tables' columns, in the paper's order
PATEL_LABELS = {"zeros": "Zero", "randn_001": "Random", "randn_lecun": "Xavier", "randn_he": "He-et-al"}
PATEL_AVERAGES = {  # as printed in the paper's "Average" columns
    "zeros": (10.28, 2.3021),
    "randn_001": (88.34, 0.3289),
    "randn_lecun": (90.03, 0.2838),
    "randn_he": (91.41, 0.2425),
}


def desai_table() -> pd.DataFrame:
    """Table 1 of ``000``: one row per initializer, accuracies in percent."""
    return pd.DataFrame(
        _DESAI_TABLE_1,
        columns=["init", "train_acc_first", "train_acc_last", "val_acc_first", "val_acc_last", "test_acc"],
    )


def patel_tables() -> pd.DataFrame:
    """Tables 1 and 2 of ``001`` in long form: init, dataset, ``acc`` (%) and ``loss`` as printed (the paper does
    not say on which data it measured them)."""
    rows = []
    for init, (accs, losses) in _PATEL.items():
        for dataset, acc, loss in zip(_PATEL_DATASETS, accs, losses):
            rows.append({"init": init, "dataset": dataset, "acc": acc, "loss": loss})
    return pd.DataFrame(rows)


def published_tables() -> dict[str, pd.DataFrame]:
    """Every published table as printed, by name: one row per initializer, one column per printed column.

    ``desai_table1``: ``000``'s Table 1 (accuracies in percent, columns as :func:`desai_table`);
    ``patel_table1`` and ``patel_table2``: ``001``'s Tables 1 (accuracy in percent) and 2 (loss),
    columns ``mnist``, ``cifar10``, ``fashion_mnist`` and the printed ``average``. The claims ledger
    (:mod:`initlab.claims`) refers to these cells by table, row and column.
    """
    long = patel_tables()
    patel = {}
    for name, column, average in (("patel_table1", "acc", 0), ("patel_table2", "loss", 1)):
        wide = long.pivot(index="init", columns="dataset", values=column).loc[list(_PATEL), list(_PATEL_DATASETS)]
        wide["average"] = [PATEL_AVERAGES[init][average] for init in wide.index]
        patel[name] = wide.rename_axis(index="init", columns=None)
    return {"desai_table1": desai_table().set_index("init"), **patel}
