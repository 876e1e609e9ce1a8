// __NAME__: scores events by their level.
__COMMON__
const DEFAULTS = { points: {} };
const DEFAULT_POINTS = { debug: 0, info: 10, warning: 30, error: 60, fatal: 90 };
let config = DEFAULTS;

function impactLevel(score) {
  if (score >= 80) return "critical";
  if (score >= 60) return "high";
  if (score >= 40) return "medium";
  if (score >= 20) return "low";
  return "negligible";
}

export const scorer = {
  metadata,
  configure(text) {
    config = parseConfig(text, DEFAULTS);
  },
  score(event, _classification) {
    const points = { ...DEFAULT_POINTS, ...config.points };
    const score = Math.max(0, Math.min(100, Math.round(Number(points[event.level] ?? 0))));
    return {
      score,
      level: impactLevel(score),
      revenueAtRisk: undefined,
      usersAffected: undefined,
      factors: [{ name: "level", weight: 1, value: score / 100, contribution: score, detail: `level ${event.level}` }],
    };
  },
};
