"""__NAME__: classifies events whose message or exception mentions a word."""

__COMMON__

DEFAULTS = {"code": "APP.TIMEOUT", "category": ["app", "timeout"], "match": "timeout"}


class Classifier(exports.Classifier):
    config = DEFAULTS

    def metadata(self):
        return METADATA

    def configure(self, config):
        Classifier.config = parse_config(config, DEFAULTS)
        host.log(host.LogLevel.DEBUG, f"__NAME__ matches {Classifier.config['match']!r}")

    def classify(self, event):
        c = Classifier.config
        word = str(c["match"]).lower()
        texts = [event.message or ""]
        for e in event.exceptions:
            texts += [e.type, e.value or ""]
        if not any(word in t.lower() for t in texts):
            return None
        return types.Classification(
            code=c["code"],
            category=[str(p) for p in c["category"]],
            taxonomy="__NAME__/1",
            severity=types.Severity.MEDIUM,
            confidence=0.8,
            fingerprint=None,
        )
