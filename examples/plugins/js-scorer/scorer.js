// A faultline business-impact scorer written in JavaScript.
//
// Stage config (TOML):
//   config = { base = 20, level_points = { error = 30, fatal = 60 },
//              critical_transactions = ["checkout"], per_user = 0.5, max_user_points = 20 }
//
// score = base + points for the level + 20 if the transaction is critical
//       + per_user × users affected (capped), clamped to 0..100.

import { log } from "faultline:plugin/host@0.1.0";

const DEFAULTS = {
  base: 10,
  level_points: { debug: 0, info: 5, warning: 15, error: 35, fatal: 60 },
  critical_transactions: ["checkout", "payment", "login"],
  per_user: 0.5,
  max_user_points: 20,
};

let settings = DEFAULTS;

function invalid(message) {
  // A thrown `{ tag, val }` becomes the plugin-error variant case.
  return { tag: "invalid-config", val: message };
}

function attribute(event, key) {
  const found = event.attributes.find((a) => a.key === key);
  return found ? found.value : undefined;
}

function levelOf(score) {
  if (score >= 80) return "critical";
  if (score >= 60) return "high";
  if (score >= 40) return "medium";
  if (score >= 20) return "low";
  return "negligible";
}

export const scorer = {
  metadata() {
    return {
      name: "js-scorer",
      version: "0.1.0",
      description: "points-based impact score, in JavaScript",
      // Level and transaction always come; of the optional parts it reads these.
      reads: { user: true, attributes: true },
    };
  },

  configure(config) {
    const parsed = JSON.parse(config || "{}");
    const known = Object.keys(DEFAULTS);
    for (const key of Object.keys(parsed)) {
      if (!known.includes(key)) throw invalid(`unknown key ${JSON.stringify(key)}; expected one of ${known.join(", ")}`);
    }
    settings = { ...DEFAULTS, ...parsed, level_points: { ...DEFAULTS.level_points, ...(parsed.level_points || {}) } };
    if (typeof settings.base !== "number" || settings.base < 0 || settings.base > 100) {
      throw invalid("base must be a number from 0 to 100");
    }
    log("debug", `js-scorer configured with base ${settings.base}`);
  },

  score(event, classification) {
    const factors = [];
    const add = (name, points, detail) => {
      factors.push({ name, weight: 1, value: Math.min(1, points / 100), contribution: points, detail });
      return points;
    };
    let total = add("base", settings.base, "every event");
    total += add("level", settings.level_points[event.level] ?? 0, `level ${event.level}`);
    const tx = event.transaction || "";
    const critical = settings.critical_transactions.find((t) => tx.toLowerCase().includes(t));
    total += add("transaction", critical ? 20 : 0, critical ? `${tx} is critical` : "not a critical flow");
    const users = attribute(event, "extra.users_affected");
    const count = users && users.tag === "integer" ? Number(users.val) : event.user ? 1 : 0;
    total += add("users", Math.min(settings.max_user_points, count * settings.per_user), `${count} users affected`);
    if (classification && classification.severity === "critical") {
      total += add("severity", 10, `critical ${classification.code}`);
    }
    const score = Math.max(0, Math.min(100, Math.round(total)));
    return {
      score,
      level: levelOf(score),
      revenueAtRisk: undefined,
      usersAffected: count ? BigInt(count) : undefined,
      factors,
    };
  },
};
