"""What the configuration says in two places stays equal: GPU labels and the processes that get --device."""

from __future__ import annotations

import re

from conftest import REPO


def process_labels() -> dict[str, set[str]]:
    labels = {}
    for module in (REPO / "modules").glob("*.nf"):
        text = module.read_text()
        name = re.search(r"^process\s+(\w+)", text, flags=re.MULTILINE)[1]
        labels[name] = set(re.findall(r"^\s*label\s+'(\w+)'", text, flags=re.MULTILINE))
    return labels


def processes_given_device() -> set[str]:
    """Processes whose ext.args in conf/modules.config pass --device (directly or through the model settings)."""
    config = (REPO / "conf" / "modules.config").read_text()
    model_settings = re.search(r"def MODEL_SETTINGS = \[([^\]]*)\]", config)[1]
    given = set()
    for name, body in re.findall(r"withName:\s*'([\w.*|]+)'\s*\{(.*?)\n    \}", config, flags=re.DOTALL):
        args = re.search(r"ext\.args\s*=(.*)", body)
        pinned_cpu = args and "[device: 'cpu']" in args[1]  # a process that always runs on the CPU, whatever --device
        if args and not pinned_cpu and ("device:" in args[1] or ("MODEL_SETTINGS" in args[1] and "'device'" in model_settings)):
            given.add(name)
    return given


def test_every_process_given_a_device_asks_for_a_gpu():
    """-profile gpu sets --device cuda for these processes: each must carry process_gpu, or a scheduler puts it on a CPU node."""
    labels = process_labels()
    given = processes_given_device()
    assert given >= {"TRAIN_MODEL", "EVALUATE", "PREDICT_EXPRESSION"}, given
    for name in given:
        assert "process_gpu" in labels[name], f"{name} gets --device but has no process_gpu label"


def test_only_processes_given_a_device_ask_for_a_gpu():
    given = processes_given_device()
    for name, labels in process_labels().items():
        if "process_gpu" in labels:
            assert name in given, f"{name} asks for a GPU but is never given --device"
