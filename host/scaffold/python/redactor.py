"""__NAME__: replaces configured words in the message and exception values."""

__COMMON__

DEFAULTS = {"words": ["password"]}


def scrub(path, text, words):
    clean = text
    for w in words:
        if w:
            clean = clean.replace(w, "[redacted]")
    if clean == text:
        return []
    return [types.Edit(path=path, action=types.Redaction_Replace(clean))]


class Redactor(exports.Redactor):
    config = DEFAULTS

    def metadata(self):
        return METADATA

    def configure(self, config):
        Redactor.config = parse_config(config, DEFAULTS)

    def redact(self, event):
        words = [str(w) for w in Redactor.config["words"]]
        edits = scrub("message", event.message, words) if event.message else []
        for i, e in enumerate(event.exceptions):
            if e.value:
                edits += scrub(f"exception.values.{i}.value", e.value, words)
        return edits
