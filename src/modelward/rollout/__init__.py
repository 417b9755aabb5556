"""Canary rollouts with automatic rollback: the engine, its two ports and their adapters."""

from modelward.rollout.engine import RolloutEngine
from modelward.rollout.judge import Check, Judgement, judge
from modelward.rollout.metrics import PredictionLogMetrics
from modelward.rollout.ports import MetricsPort, TrafficPort, TrafficState, WindowStats
from modelward.rollout.records import Decision, RolloutInfo
from modelward.rollout.routing_traffic import RoutingTraffic
from modelward.rollout.traffic import ModelTraffic, ServingTraffic

__all__ = [
    "Check",
    "Decision",
    "Judgement",
    "MetricsPort",
    "ModelTraffic",
    "PredictionLogMetrics",
    "RolloutEngine",
    "RolloutInfo",
    "RoutingTraffic",
    "ServingTraffic",
    "TrafficPort",
    "TrafficState",
    "WindowStats",
    "judge",
]
