"""The metric names the pipeline exports (read from services/metrics.py) and the names a PromQL expression uses."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
METRICS_SOURCE = ROOT / "services" / "metrics.py"

# Prometheus' own series about a scrape target.
SCRAPE_SERIES = frozenset({"up"})

_DECLARED = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"(lineage_\w+)\"")
_LABEL_LISTS = re.compile(r"\[\s*(\"[a-z_]+\"(?:\s*,\s*\"[a-z_]+\")*)\s*\]")
_SUFFIXES = {
    "Counter": ("",),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count"),
    "Summary": ("", "_sum", "_count"),
}

_NAME_MATCHER = re.compile(r"__name__\s*=~?\s*\"([^\"]*)\"")
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_BRACES = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_OFFSET = re.compile(r"\boffset\s+-?[0-9a-z]+")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_GROUP_MODIFIER = re.compile(r"\b(?:group_left|group_right)\b")
_IDENTIFIER = re.compile(r"(?<![\w:$.])([a-zA-Z_:][\w:]*)(\s*\()?")
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "by", "without", "on", "ignoring", "inf", "nan", "atan2"})
_LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,")


def exported_metrics(source: Path = METRICS_SOURCE) -> frozenset[str]:
    """Every series name the pipeline exports: counters and gauges as named, histograms with their suffixes."""
    names = {
        name + suffix
        for kind, name in _DECLARED.findall(source.read_text(encoding="utf-8"))
        for suffix in _SUFFIXES[kind]
    }
    return frozenset(names)


def exported_labels(source: Path = METRICS_SOURCE) -> frozenset[str]:
    """Every label name the pipeline's metrics declare."""
    text = source.read_text(encoding="utf-8")
    return frozenset(label.strip().strip('"') for group in _LABEL_LISTS.findall(text) for label in group.split(","))


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (functions, keywords, labels and durations left out)."""
    names = {alt for pattern in _NAME_MATCHER.findall(expr) for alt in pattern.split("|")}
    text = _STRING.sub(" ", expr)
    text = _BRACES.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _OFFSET.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _GROUP_MODIFIER.sub(" ", text)
    for identifier, call in _IDENTIFIER.findall(text):
        if not call and identifier not in _KEYWORDS:
            names.add(identifier)
    return names


def variable_query_metrics(query: str) -> set[str]:
    """The metrics a Grafana Prometheus variable query reads (``label_values(metric, label)``)."""
    return set(_LABEL_VALUES.findall(query))
