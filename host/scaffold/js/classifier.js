// __NAME__: classifies events whose message or exception mentions a word.
__COMMON__
const DEFAULTS = { code: "APP.TIMEOUT", category: ["app", "timeout"], match: "timeout" };
let config = DEFAULTS;

export const classifier = {
  metadata,
  configure(text) {
    config = parseConfig(text, DEFAULTS);
    log("debug", `__NAME__ matches ${JSON.stringify(config.match)}`);
  },
  classify(event) {
    const word = String(config.match).toLowerCase();
    const texts = [event.message || ""];
    for (const e of event.exceptions) texts.push(e.type, e.value || "");
    if (!texts.some((t) => t.toLowerCase().includes(word))) return undefined;
    return {
      code: config.code,
      category: config.category.map(String),
      taxonomy: "__NAME__/1",
      severity: "medium",
      confidence: 0.8,
      fingerprint: undefined,
    };
  },
};
