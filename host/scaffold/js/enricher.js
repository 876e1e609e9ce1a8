// __NAME__: adds the configured tags to every event.
__COMMON__
const DEFAULTS = { tags: {} };
let config = DEFAULTS;

export const enricher = {
  metadata,
  configure(text) {
    config = parseConfig(text, DEFAULTS);
    if (!Object.values(config.tags).every((v) => typeof v === "string")) {
      throw { tag: "invalid-config", val: "tag values must be strings" };
    }
  },
  enrich(_event) {
    return { tags: Object.entries(config.tags).sort(), attributes: [] };
  },
};
