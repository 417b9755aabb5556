"""``env check``: the machine a model is trained on: CPU, memory, disk, GPU, packages."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["KEY_PACKAGES", "MIN_FREE_MEMORY_GB", "environment_report", "gpus"]

KEY_PACKAGES = (
    "modelward", "numpy", "pandas", "scipy", "scikit-learn", "skops", "onnx", "onnxruntime",
    "skl2onnx", "optuna", "fairlearn", "duckdb", "pyarrow", "sqlalchemy", "uvicorn",
)  # fmt: skip
#: --memory fails below this much available memory
MIN_FREE_MEMORY_GB = 1.0
#: disk space below this is reported as a failure
MIN_FREE_DISK_GB = 1.0


def gpus() -> tuple[list[dict[str, Any]], str]:
    """GPUs that nvidia-smi (or onnxruntime's CUDA provider) can see, and how we looked."""
    found: list[dict[str, Any]] = []
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run(
                [smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            out = None
        if out is not None and out.returncode == 0:
            for line in out.stdout.strip().splitlines():
                name, memory, driver = (part.strip() for part in line.split(",")[:3])
                found.append({"name": name, "memory": memory, "driver": driver})
        return found, "nvidia-smi"
    try:
        import onnxruntime

        providers = onnxruntime.get_available_providers()
    except ImportError:  # pragma: no cover - onnxruntime is a dependency
        providers = []
    gpu_providers = [
        p for p in providers if p in ("CUDAExecutionProvider", "ROCMExecutionProvider")
    ]
    found = [{"name": p, "memory": None, "driver": None} for p in gpu_providers]
    return found, "onnxruntime providers (no nvidia-smi on PATH)"


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def environment_report(
    path: Path | str = ".", *, gpu: bool = False, memory: bool = False
) -> dict[str, Any]:
    """Facts and checks. ``gpu``: a GPU is required. ``memory``: enough must be free."""
    import psutil

    vm = psutil.virtual_memory()
    disk = shutil.disk_usage(Path(path))
    checks: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": {
            "logical": psutil.cpu_count(logical=True),
            "physical": psutil.cpu_count(logical=False),
            "usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "model": platform.processor() or platform.machine(),
        },
        "memory": {
            "total_gb": round(vm.total / 2**30, 2),
            "available_gb": round(vm.available / 2**30, 2),
            "used_percent": vm.percent,
        },
        "disk": {
            "path": str(Path(path).resolve()),
            "total_gb": round(disk.total / 2**30, 2),
            "free_gb": round(disk.free / 2**30, 2),
        },
        "packages": _versions(),
    }
    found, how = gpus()
    report["gpu"] = {"devices": found, "detected_by": how}
    report["gpu"]["summary"] = (
        f"{len(found)} GPU(s): " + ", ".join(g["name"] for g in found)
        if found
        else "no GPU found: training and inference run on the CPU"
    )
    free_disk = report["disk"]["free_gb"]
    checks.append(
        {
            "name": "disk free",
            "value": free_disk,
            "threshold": MIN_FREE_DISK_GB,
            "passed": free_disk >= MIN_FREE_DISK_GB,
        }
    )
    if memory:
        swap = psutil.swap_memory()
        report["memory"]["swap_total_gb"] = round(swap.total / 2**30, 2)
        report["memory"]["swap_used_gb"] = round(swap.used / 2**30, 2)
        free = report["memory"]["available_gb"]
        checks.append(
            {
                "name": "memory available",
                "value": free,
                "threshold": MIN_FREE_MEMORY_GB,
                "passed": free >= MIN_FREE_MEMORY_GB,
            }
        )
    if gpu:
        checks.append(
            {"name": "GPU present", "value": len(found), "threshold": 1, "passed": bool(found)}
        )
    missing = [name for name, version in report["packages"].items() if version is None]
    checks.append(
        {
            "name": "key packages installed",
            "value": len(missing),
            "threshold": 0,
            "passed": not missing,
            "detail": ", ".join(missing),
        }
    )
    report["checks"] = checks
    report["passed"] = all(c["passed"] for c in checks)
    return report
