"""__NAME__: scores events by their level."""

__COMMON__

DEFAULTS = {"points": {}}
DEFAULT_POINTS = {"debug": 0, "info": 10, "warning": 30, "error": 60, "fatal": 90}


def impact_level(score):
    for floor, level in ((80, types.ImpactLevel.CRITICAL), (60, types.ImpactLevel.HIGH),
                         (40, types.ImpactLevel.MEDIUM), (20, types.ImpactLevel.LOW)):
        if score >= floor:
            return level
    return types.ImpactLevel.NEGLIGIBLE


class Scorer(exports.Scorer):
    config = DEFAULTS

    def metadata(self):
        return METADATA

    def configure(self, config):
        Scorer.config = parse_config(config, DEFAULTS)

    def score(self, event, classification):
        level = event.level.name.lower()
        points = {**DEFAULT_POINTS, **Scorer.config["points"]}
        score = max(0, min(100, int(points.get(level, 0))))
        return types.Impact(
            score=score,
            level=impact_level(score),
            revenue_at_risk=None,
            users_affected=None,
            factors=[types.Factor(name="level", weight=1.0, value=score / 100,
                                  contribution=float(score), detail=f"level {level}")],
        )
