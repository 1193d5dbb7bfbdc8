"""The four-hospital heart federation: CV-chosen hyperparameters, then the test table.

Hyperparameters are chosen only by 3-fold stratified cross-validation inside the centres'
training sets (folds fixed by random_state=0); the test sets are touched once, by the
final runs. Federated candidates are scored by running the whole federation on the
training folds and averaging the four centres' validation-fold accuracy.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from sklearn.model_selection import StratifiedKFold

from benchmarks.accuracy.heart_data import HEAD, federated_splits, load_heart, pooled_train
from hospital.models import BPSpec, HeadKind, HeadSpec, MultiHeadNetwork, build_model
from hospital.training import (
    Criterion,
    FederationConfig,
    FineTuneScope,
    LocalData,
    PersonaliseConfig,
    PlaintextCodec,
    QuantisedCodec,
    ServerOptConfig,
    ServerRule,
    TrainConfig,
    evaluate,
    personalise,
    train_federated,
    train_local,
)
from hospital.training.paillier_codec import CryptoCost, PaillierCodec
from node.crypto import PackingSpec, new_consortium_key

# The encrypted path of the final runs: 2048-bit threshold Paillier (2 of 4 miners), 12-bit
# values clipped at ±1 (updates here never exceed 0.37), weights = sample counts (Σ n_k ≈ 486).
PACKING = PackingSpec(value_bits=12, clip=1.0, max_updates=4, max_total_weight=512)
KEY_BITS = 2048

SPEC = BPSpec(
    input_dim=13, hidden=(64, 32), heads=(HeadSpec(name=HEAD, kind=HeadKind.BINARY, size=1),)
)
SEEDS = (42, 43, 44, 45, 46)
CV_SEED = 42
ROUND_CHECKPOINTS = (5, 10, 15, 30, 60)
LOCAL_EPOCHS = (2, 5, 20, 50)
LOCAL_LRS = (1e-3, 1e-2)
SERVER_LRS = (1e-2, 3e-2)
# Fixed a priori (not tuned on anything here): whole-model fine-tune, as in MEASURED.md.
PERSONALISE = PersonaliseConfig(
    scope=FineTuneScope.WHOLE, val_fraction=0.25, max_epochs=30, patience=5, batch_size=4, lr=1e-3
)
HEADS_ONLY = PERSONALISE.model_copy(update={"scope": FineTuneScope.HEADS})
# Chosen among by federated CV (one choice for all centres); None = keep the global model.
PERSONALISATION_CANDIDATES: dict[str, PersonaliseConfig | None] = {
    "none": None,
    "whole, val loss": PERSONALISE,
    "whole, val accuracy": PERSONALISE.model_copy(update={"criterion": Criterion.ACCURACY}),
    "heads, val loss": HEADS_ONLY,
    "heads, val accuracy": HEADS_ONLY.model_copy(update={"criterion": Criterion.ACCURACY}),
}


@dataclass
class Scores:
    """Per-seed, per-centre test scores of one method."""

    acc: list[list[float]] = field(default_factory=list)
    bal: list[list[float]] = field(default_factory=list)
    auc: list[list[float]] = field(default_factory=list)

    def add(self, models: Sequence[MultiHeadNetwork], tests: Sequence[LocalData]) -> None:
        """Score one seed: model k on centre k's test set."""
        ev = [evaluate(m, t) for m, t in zip(models, tests, strict=True)]
        self.acc.append([e.accuracy for e in ev])
        self.bal.append([e.balanced_accuracy for e in ev])
        self.auc.append([e.auc if e.auc is not None else float("nan") for e in ev])


def _folds(data: LocalData, k: int = 3) -> list[tuple[LocalData, LocalData]]:
    y = data.targets[HEAD].numpy()
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=0)
    return [
        (data.subset(torch.from_numpy(a)), data.subset(torch.from_numpy(b)))
        for a, b in splitter.split(y.reshape(-1, 1), y)
    ]


def _local_config(lr: float, epochs: int, seed: int) -> TrainConfig:
    return TrainConfig(
        epochs=epochs, batch_size=4, optimizer="adam", lr=lr, weight_decay=1e-2, seed=seed
    )


def _fed_config(
    rule: ServerRule, local_lr: float, server_lr: float, rounds: int, seed: int
) -> FederationConfig:
    return FederationConfig(
        rounds=rounds,
        local=TrainConfig(
            steps=100, batch_size=4, optimizer="sgd", lr=local_lr, weight_decay=1e-2, seed=seed
        ),
        server=ServerOptConfig(rule=rule, lr=server_lr),
    )


def choose_local(train: LocalData) -> tuple[float, int, float]:
    """(lr, epochs, cv accuracy) for one dataset trained alone."""
    best = (LOCAL_LRS[0], LOCAL_EPOCHS[0], -1.0)
    folds = _folds(train)
    for lr, epochs in itertools.product(LOCAL_LRS, LOCAL_EPOCHS):
        accs = [
            evaluate(
                train_local(build_model(SPEC, CV_SEED), fit, _local_config(lr, epochs, CV_SEED)),
                val,
            ).accuracy
            for fit, val in folds
        ]
        score = statistics.fmean(accs)
        if score > best[2]:
            best = (lr, epochs, score)
    return best


def choose_federated(
    trains: Sequence[LocalData], rule: ServerRule, codec_factory: Callable[[], object]
) -> tuple[float, float, int, float]:
    """(local lr, server lr, rounds, cv accuracy) for a server rule, by federated 3-fold CV."""
    per_centre = [_folds(t) for t in trains]
    server_lrs = (1.0,) if rule is ServerRule.FEDAVG else SERVER_LRS
    best = (LOCAL_LRS[0], server_lrs[0], ROUND_CHECKPOINTS[0], -1.0)
    for local_lr, server_lr in itertools.product(LOCAL_LRS, server_lrs):
        at_round: dict[int, list[float]] = {r: [] for r in ROUND_CHECKPOINTS}
        for f in range(3):
            fits = [folds[f][0] for folds in per_centre]
            vals = [folds[f][1] for folds in per_centre]

            def score(
                r: int,
                model: MultiHeadNetwork,
                vals: list[LocalData] = vals,
                at_round: dict[int, list[float]] = at_round,
            ) -> None:
                if r in at_round:
                    at_round[r].append(statistics.fmean(evaluate(model, v).accuracy for v in vals))

            config = _fed_config(rule, local_lr, server_lr, max(ROUND_CHECKPOINTS), CV_SEED)
            train_federated(SPEC, CV_SEED, fits, config, codec_factory(), on_round=score)  # type: ignore[arg-type]
        for r, accs in at_round.items():
            if statistics.fmean(accs) > best[3]:
                best = (local_lr, server_lr, r, statistics.fmean(accs))
    return best


def _personalised(
    model: MultiHeadNetwork,
    trains: Sequence[LocalData],
    config: PersonaliseConfig | None,
    seed: int,
) -> list[MultiHeadNetwork]:
    if config is None:
        return [model] * len(trains)
    seeded = config.model_copy(update={"seed": seed})
    return [personalise(model, t, seeded).model for t in trains]


def choose_personalisation(
    trains: Sequence[LocalData],
    rule: ServerRule,
    choice: tuple[float, float, int, float],
    codec_factory: Callable[[], object],
) -> tuple[str, float]:
    """(candidate name, cv accuracy): federate on the training folds with the chosen config,
    personalise each centre on its training folds, score on its validation fold."""
    per_centre = [_folds(t) for t in trains]
    local_lr, server_lr, rounds, _ = choice
    scores: dict[str, list[float]] = {name: [] for name in PERSONALISATION_CANDIDATES}
    for f in range(3):
        fits = [folds[f][0] for folds in per_centre]
        vals = [folds[f][1] for folds in per_centre]
        config = _fed_config(rule, local_lr, server_lr, rounds, CV_SEED)
        model = train_federated(SPEC, CV_SEED, fits, config, codec_factory())  # type: ignore[arg-type]
        for name, candidate in PERSONALISATION_CANDIDATES.items():
            tuned = _personalised(model, fits, candidate, CV_SEED)
            scores[name].append(
                statistics.fmean(evaluate(m, v).accuracy for m, v in zip(tuned, vals, strict=True))
            )
    best = max(scores, key=lambda name: statistics.fmean(scores[name]))  # first wins ties
    return best, statistics.fmean(scores[best])


@dataclass
class HeartReport:
    """Everything the table needs."""

    methods: dict[str, Scores]
    chosen: dict[str, str]
    seconds: float
    crypto: dict[str, CryptoCost] = field(default_factory=dict)


def run_heart(seeds: Sequence[int] = SEEDS, log: Callable[[str], None] = print) -> HeartReport:
    """CV-select, then train every method for every seed and score the centres' test sets."""
    start = time.perf_counter()
    centres = load_heart()
    trains, tests = federated_splits(centres)
    pooled = pooled_train(centres)
    q16 = lambda: QuantisedCodec(clip=1.0, bits=16)  # noqa: E731
    q8 = lambda: QuantisedCodec(clip=1.0, bits=8)  # noqa: E731
    public_key, shares = new_consortium_key(miners=4, threshold=2, n_bits=KEY_BITS)
    crypto: dict[str, CryptoCost] = {}

    def paillier(name: str) -> Callable[[], PaillierCodec]:
        def make() -> PaillierCodec:
            codec = PaillierCodec(public_key, shares, PACKING)
            crypto.setdefault(name, CryptoCost())
            codec.cost = crypto[name]  # one running total per method over all seeds
            return codec

        return make

    chosen: dict[str, str] = {}
    local_choice = [choose_local(t) for t in trains]
    for c, (lr, ep, cv) in zip(centres, local_choice, strict=True):
        chosen[f"local {c.name}"] = f"Adam lr {lr:g}, {ep} epochs (cv acc {cv:.3f})"
    pooled_choice = choose_local(pooled)
    chosen["pooled"] = (
        f"Adam lr {pooled_choice[0]:g}, {pooled_choice[1]} epochs (cv acc {pooled_choice[2]:.3f})"
    )
    log(f"local/pooled chosen ({time.perf_counter() - start:.0f}s)")
    fed_choice = {}
    for rule in (ServerRule.FEDAVG, ServerRule.FEDYOGI):
        fed_choice[rule] = choose_federated(trains, rule, q16)
        lr, slr, rounds, cv = fed_choice[rule]
        chosen[rule.value] = (
            f"client SGD lr {lr:g}, server lr {slr:g}, {rounds} rounds x 100 "
            f"steps (cv acc {cv:.3f})"
        )
        log(f"{rule.value} chosen ({time.perf_counter() - start:.0f}s)")
    tuned_choice = {}
    for rule in (ServerRule.FEDAVG, ServerRule.FEDYOGI):
        tuned_choice[rule] = choose_personalisation(trains, rule, fed_choice[rule], q16)
        chosen[f"{rule.value} personalisation"] = (
            f"{tuned_choice[rule][0]} (cv acc {tuned_choice[rule][1]:.3f})"
        )
        log(f"{rule.value} personalisation chosen ({time.perf_counter() - start:.0f}s)")

    names = [
        "majority class",
        "local only",
        "pooled",
        "FedAvg (plaintext)",
        "FedAvg (8-bit)",
        "FedAvg (Paillier)",
        "FedAvg + head fine-tune",
        "FedAvg + fine-tune",
        "FedAvg + CV-chosen personalisation",
        "FedYogi (Paillier)",
        "FedYogi + CV-chosen personalisation",
    ]
    methods = {n: Scores() for n in names}
    for seed in seeds:
        majority = []
        for t, test in zip(trains, tests, strict=True):
            label = float(t.targets[HEAD].mean() >= 0.5)
            truth = test.targets[HEAD]
            majority.append(float((truth == label).float().mean()))
        methods["majority class"].acc.append(majority)
        methods["majority class"].bal.append([0.5] * len(tests))
        methods["majority class"].auc.append([0.5] * len(tests))
        local_models = [
            train_local(build_model(SPEC, seed), t, _local_config(lr, ep, seed))
            for t, (lr, ep, _) in zip(trains, local_choice, strict=True)
        ]
        methods["local only"].add(local_models, tests)
        pooled_model = train_local(
            build_model(SPEC, seed), pooled, _local_config(pooled_choice[0], pooled_choice[1], seed)
        )
        methods["pooled"].add([pooled_model] * len(tests), tests)
        # Personalised rows start from the model trained through real threshold Paillier.
        for rule, variants in (
            (
                ServerRule.FEDAVG,
                (
                    ("FedAvg (plaintext)", PlaintextCodec),
                    ("FedAvg (8-bit)", q8),
                    ("FedAvg (Paillier)", paillier("FedAvg (Paillier)")),
                ),
            ),
            (ServerRule.FEDYOGI, (("FedYogi (Paillier)", paillier("FedYogi (Paillier)")),)),
        ):
            lr, slr, rounds, _ = fed_choice[rule]
            config = _fed_config(rule, lr, slr, rounds, seed)
            for name, codec in variants:
                model = train_federated(SPEC, seed, trains, config, codec())  # type: ignore[arg-type]
                methods[name].add([model] * len(tests), tests)
                if name.endswith("(Paillier)"):
                    prefix = name.split()[0]
                    candidate = PERSONALISATION_CANDIDATES[tuned_choice[rule][0]]
                    methods[f"{prefix} + CV-chosen personalisation"].add(
                        _personalised(model, trains, candidate, seed), tests
                    )
                    if rule is ServerRule.FEDAVG:
                        methods["FedAvg + fine-tune"].add(
                            _personalised(model, trains, PERSONALISE, seed), tests
                        )
                        methods["FedAvg + head fine-tune"].add(
                            _personalised(model, trains, HEADS_ONLY, seed), tests
                        )
        log(f"seed {seed} done ({time.perf_counter() - start:.0f}s)")
    return HeartReport(
        methods=methods, chosen=chosen, seconds=time.perf_counter() - start, crypto=crypto
    )
