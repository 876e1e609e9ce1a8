// __NAME__: replaces configured words in the message and exception values.
__COMMON__
const DEFAULTS = { words: ["password"] };
let config = DEFAULTS;

function scrub(path, text) {
  let clean = text;
  for (const w of config.words) if (w) clean = clean.split(String(w)).join("[redacted]");
  return clean === text ? [] : [{ path, action: { tag: "replace", val: clean } }];
}

export const redactor = {
  metadata,
  configure(text) {
    config = parseConfig(text, DEFAULTS);
  },
  redact(event) {
    const edits = event.message ? scrub("message", event.message) : [];
    event.exceptions.forEach((e, i) => {
      if (e.value) edits.push(...scrub(`exception.values.${i}.value`, e.value));
    });
    return edits;
  },
};
