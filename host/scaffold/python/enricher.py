"""__NAME__: adds the configured tags to every event."""

__COMMON__

DEFAULTS = {"tags": {}}


class Enricher(exports.Enricher):
    config = DEFAULTS

    def metadata(self):
        return METADATA

    def configure(self, config):
        parsed = parse_config(config, DEFAULTS)
        if not all(isinstance(v, str) for v in parsed["tags"].values()):
            raise Err(types.PluginError_InvalidConfig("tag values must be strings"))
        Enricher.config = parsed

    def enrich(self, event):
        return types.Enrichment(tags=sorted(Enricher.config["tags"].items()), attributes=[])
