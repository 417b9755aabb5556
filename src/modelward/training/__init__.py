"""Training from a config: seeded split, CV, Optuna search, registration in development."""

from modelward.training.config import TrainingConfig, load_config
from modelward.training.train import TrainResult, train_model

__all__ = ["TrainResult", "TrainingConfig", "load_config", "train_model"]
