import { log } from "faultline:plugin/host@0.1.0";

// `reads: undefined`: every part of the event. Name only what the plugin reads,
// e.g. `{ tags: true, user: true }`, and the host passes the rest empty: less
// data shown to the plugin, less copied per event.
const metadata = () => ({ name: "__NAME__", version: "0.1.0", description: "__DESCRIPTION__", reads: undefined });

// The stage config (JSON text) over `defaults`; unknown keys are refused.
// A thrown `{ tag, val }` becomes the plugin-error case.
function parseConfig(text, defaults) {
  const parsed = JSON.parse(text || "{}");
  const unknown = Object.keys(parsed).filter((k) => !(k in defaults));
  if (unknown.length) {
    throw { tag: "invalid-config", val: `unknown keys ${JSON.stringify(unknown)}; expected ${Object.keys(defaults).join(", ")}` };
  }
  return { ...defaults, ...parsed };
}
