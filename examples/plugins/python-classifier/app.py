"""A faultline classifier written in Python: regex rules from the stage config.

Stage config (TOML):

    config = { rules = [
        { code = "BILLING.LEDGER", category = ["billing", "ledger"], severity = "high",
          message = "ledger|journal" },
        { code = "AUTH.SSO", category = ["security", "sso"], exception_type = "SAML|OIDC" },
    ] }

A rule matches when every pattern it gives matches (case-insensitive search):
`message` against the message and exception values, `exception_type` against
exception types, `logger` against the logger. The first matching rule wins.
"""

import json
import re

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

SEVERITIES = {
    "low": types.Severity.LOW,
    "medium": types.Severity.MEDIUM,
    "high": types.Severity.HIGH,
    "critical": types.Severity.CRITICAL,
}
FIELDS = ("message", "exception_type", "logger")


class Rule:
    def __init__(self, index, raw):
        if not isinstance(raw, dict):
            raise ValueError(f"rules[{index}] must be a table")
        unknown = set(raw) - {"code", "category", "severity", "confidence", *FIELDS}
        if unknown:
            raise ValueError(f"rules[{index}]: unknown keys {sorted(unknown)}")
        self.code = raw.get("code") or ""
        if not self.code:
            raise ValueError(f"rules[{index}]: `code` is required")
        self.category = [str(c) for c in raw.get("category", [])]
        severity = raw.get("severity", "medium")
        if severity not in SEVERITIES:
            raise ValueError(f"rules[{index}]: severity {severity!r} is not one of {sorted(SEVERITIES)}")
        self.severity = SEVERITIES[severity]
        self.confidence = float(raw.get("confidence", 0.8))
        self.patterns = {}
        for field in FIELDS:
            if field in raw:
                try:
                    self.patterns[field] = re.compile(raw[field], re.IGNORECASE)
                except re.error as e:
                    raise ValueError(f"rules[{index}].{field}: {e}") from None
        if not self.patterns:
            raise ValueError(f"rules[{index}]: give at least one of {', '.join(FIELDS)}")

    def matches(self, texts):
        return all(any(p.search(t) for t in texts[f]) for f, p in self.patterns.items())


class Classifier(exports.Classifier):
    rules = []

    def metadata(self):
        return types.PluginMetadata(
            name="python-classifier",
            version="0.1.0",
            description="regex rules from the stage config, in Python",
            # Messages, exception types and values and the logger are always
            # passed; this plugin needs none of the optional parts.
            reads=types.EventParts(0),
        )

    def configure(self, config):
        try:
            parsed = json.loads(config or "{}")
            unknown = set(parsed) - {"rules"}
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}; expected `rules`")
            Classifier.rules = [Rule(i, r) for i, r in enumerate(parsed.get("rules", []))]
        except ValueError as e:
            raise Err(types.PluginError_InvalidConfig(str(e)))
        host.log(host.LogLevel.DEBUG, f"python-classifier: {len(Classifier.rules)} rules")

    def classify(self, event):
        texts = {
            "message": [event.message or ""] + [e.value or "" for e in event.exceptions],
            "exception_type": [e.type for e in event.exceptions],
            "logger": [event.logger or ""],
        }
        for rule in Classifier.rules:
            if rule.matches(texts):
                return types.Classification(
                    code=rule.code,
                    category=rule.category,
                    taxonomy="python-rules/1",
                    severity=rule.severity,
                    confidence=rule.confidence,
                    fingerprint=[rule.code] + texts["exception_type"][-1:],
                )
        return None
