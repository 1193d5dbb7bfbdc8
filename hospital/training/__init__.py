"""Patent module 4 without the network: local training, updates, aggregation, server optimisers."""

from hospital.training.codec import PlaintextCodec, QuantisedCodec, UpdateCodec, aggregate
from hospital.training.data import LocalData, stratified_split
from hospital.training.federation import (
    FederationConfig,
    apply_global_update,
    round_train_config,
    round_update,
    train_federated,
)
from hospital.training.local import (
    LocalOptimizer,
    LocalUpdate,
    TrainConfig,
    local_update,
    train_local,
)
from hospital.training.metrics import Evaluation, balanced_accuracy, evaluate, roc_auc
from hospital.training.params import (
    apply_delta,
    flatten,
    layout_digest,
    load_flat,
    model_delta,
    parameter_count,
    parameter_layout,
)
from hospital.training.personalise import (
    Criterion,
    FineTuneScope,
    PersonaliseConfig,
    Personalised,
    personalise,
)
from hospital.training.server_opt import ServerOptConfig, ServerOptimizer, ServerRule

__all__ = [
    "Criterion",
    "Evaluation",
    "FederationConfig",
    "FineTuneScope",
    "LocalData",
    "LocalOptimizer",
    "LocalUpdate",
    "PersonaliseConfig",
    "Personalised",
    "PlaintextCodec",
    "QuantisedCodec",
    "ServerOptConfig",
    "ServerOptimizer",
    "ServerRule",
    "TrainConfig",
    "UpdateCodec",
    "aggregate",
    "apply_delta",
    "apply_global_update",
    "balanced_accuracy",
    "evaluate",
    "flatten",
    "layout_digest",
    "load_flat",
    "local_update",
    "model_delta",
    "parameter_count",
    "parameter_layout",
    "personalise",
    "roc_auc",
    "round_train_config",
    "round_update",
    "stratified_split",
    "train_federated",
    "train_local",
]
