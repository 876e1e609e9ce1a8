//! Business-impact scorer: a weighted error index (0–100) from severity,
//! service criticality, users affected, transaction type and revenue at risk,
//! with every factor reported so a score can be explained.

use std::borrow::Cow;

use faultline_sdk::{
    Classification, Event, EventParts, Factor, Impact, ImpactLevel, Level, Money, PluginError,
    Scorer, Severity, Value,
};
use serde::Deserialize;

/// Relative weights of the factors; they need not sum to 1.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// `severity = 0.35`
    pub severity: f64,
    /// `criticality = 0.25`
    pub criticality: f64,
    /// `users = 0.15`
    pub users: f64,
    /// `transaction = 0.10`
    pub transaction: f64,
    /// `revenue = 0.15`
    pub revenue: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            severity: 0.35,
            criticality: 0.25,
            users: 0.15,
            transaction: 0.10,
            revenue: 0.15,
        }
    }
}

/// Stage config of the scorer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[...config.weights]`
    pub weights: Weights,
    /// Attribute or tag holding the service tier (`1` is most critical).
    pub tier_keys: Vec<String>,
    /// Criticality assumed when no tier is known, 0.0 to 1.0.
    pub unknown_criticality: f64,
    /// Transaction name fragments that mark a business-critical flow.
    pub critical_transactions: Vec<String>,
    /// Attributes that may hold the amount at stake, in major units (`129.99`).
    pub amount_keys: Vec<String>,
    /// Attributes that may hold its ISO 4217 currency code.
    pub currency_keys: Vec<String>,
    /// Currency assumed when none is given.
    pub default_currency: String,
    /// Amount (in minor units) at which the revenue factor reaches 1.0.
    pub revenue_full_scale_minor: i64,
    /// Attributes that may hold a count of affected users.
    pub users_keys: Vec<String>,
    /// User count at which the users factor reaches 1.0.
    pub users_full_scale: u64,
    /// Score thresholds for `low`, `medium`, `high`, `critical`.
    pub thresholds: [u8; 4],
}

impl Default for Config {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Config {
            weights: Weights::default(),
            tier_keys: strings(&["contexts.service.tier", "tier"]),
            unknown_criticality: 0.5,
            critical_transactions: strings(&[
                "checkout", "payment", "pay", "order", "login", "signup", "cart",
            ]),
            amount_keys: strings(&[
                "extra.amount",
                "extra.cart_total",
                "extra.order_total",
                "contexts.order.amount",
                "contexts.cart.total",
            ]),
            currency_keys: strings(&[
                "extra.currency",
                "contexts.order.currency",
                "contexts.cart.currency",
            ]),
            default_currency: "USD".into(),
            revenue_full_scale_minor: 1_000_000,
            users_keys: strings(&["extra.users_affected", "contexts.impact.users_affected"]),
            users_full_scale: 10_000,
            thresholds: [20, 40, 60, 80],
        }
    }
}

/// Decimal places of an ISO 4217 currency's minor unit.
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "PYG" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}

/// Parses a decimal amount in major units into minor units exactly.
pub fn to_minor_units(amount: &str, digits: u32) -> Option<i64> {
    let amount = amount.trim();
    let (negative, amount) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = 10i64.checked_pow(digits)?;
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut frac_units = 0i64;
    for (i, b) in frac.bytes().enumerate() {
        let d = i64::from(b - b'0');
        if (i as u32) < digits {
            frac_units = frac_units * 10 + d;
        } else if i as u32 == digits && d >= 5 {
            frac_units += 1;
            break;
        } else {
            break;
        }
    }
    let pad = digits.saturating_sub(frac.len() as u32);
    let frac_units = frac_units * 10i64.pow(pad.min(digits));
    let total = whole.checked_mul(scale)?.checked_add(frac_units)?;
    Some(if negative { -total } else { total })
}

/// The impact scorer.
pub struct ImpactScorer {
    config: Config,
    /// `config.critical_transactions` in lower case, in the same order.
    critical_lower: Vec<String>,
}

fn lookup<'e>(event: &'e Event, keys: &[String]) -> Option<&'e Value> {
    keys.iter().find_map(|k| {
        event
            .attributes
            .iter()
            .find(|a| &a.key == k)
            .map(|a| &a.value)
    })
}

/// A value as text: a text as it is (borrowed), a number written out.
fn text_of(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Text(s) => Some(Cow::Borrowed(s)),
        Value::Integer(i) => Some(Cow::Owned(itoa::Buffer::new().format(*i).to_owned())),
        Value::Number(n) if n.is_finite() => Some(Cow::Owned(format!("{n}"))),
        _ => None,
    }
}

/// Whether `text` contains `lower` (in lower case), ASCII letters compared
/// without case: `text.to_ascii_lowercase().contains(lower)` without the copy.
fn contains_ignoring_case(text: &str, lower: &str) -> bool {
    lower.is_empty()
        || text
            .as_bytes()
            .windows(lower.len())
            .any(|w| w.eq_ignore_ascii_case(lower.as_bytes()))
}

impl ImpactScorer {
    /// A scorer with the given config, validated.
    pub fn with_config(config: Config) -> Result<Self, PluginError> {
        let w = &config.weights;
        let weights = [w.severity, w.criticality, w.users, w.transaction, w.revenue];
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(PluginError::InvalidConfig(
                "weights must be finite and not negative".into(),
            ));
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err(PluginError::InvalidConfig(
                "at least one weight must be positive".into(),
            ));
        }
        if !config.thresholds.is_sorted() || config.thresholds[3] > 100 {
            return Err(PluginError::InvalidConfig(format!(
                "thresholds {:?} must be ascending and at most 100",
                config.thresholds
            )));
        }
        if !(0.0..=1.0).contains(&config.unknown_criticality) {
            return Err(PluginError::InvalidConfig(
                "unknown_criticality must be within 0.0..=1.0".into(),
            ));
        }
        if config.revenue_full_scale_minor <= 0 || config.users_full_scale == 0 {
            return Err(PluginError::InvalidConfig(
                "revenue_full_scale_minor and users_full_scale must be positive".into(),
            ));
        }
        let critical_lower = (config.critical_transactions.iter())
            .map(|p| p.to_ascii_lowercase())
            .collect();
        Ok(ImpactScorer {
            config,
            critical_lower,
        })
    }

    fn tier<'e>(&self, event: &'e Event) -> Option<Cow<'e, str>> {
        lookup(event, &self.config.tier_keys)
            .and_then(text_of)
            .or_else(|| {
                self.config.tier_keys.iter().find_map(|k| {
                    event
                        .tags
                        .iter()
                        .find(|(t, _)| t == k)
                        .map(|(_, v)| Cow::Borrowed(v.as_str()))
                })
            })
    }

    fn revenue(&self, event: &Event) -> Option<Money> {
        let amount = lookup(event, &self.config.amount_keys).and_then(text_of)?;
        let currency = lookup(event, &self.config.currency_keys)
            .and_then(text_of)
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
            .unwrap_or_else(|| self.config.default_currency.clone());
        let minor_units = to_minor_units(&amount, minor_digits(&currency))?;
        Some(Money {
            minor_units,
            currency,
        })
    }

    fn users(&self, event: &Event) -> Option<u64> {
        match lookup(event, &self.config.users_keys) {
            Some(Value::Integer(n)) if *n >= 0 => Some(*n as u64),
            Some(Value::Text(s)) => s.trim().parse().ok(),
            Some(Value::Number(n)) if *n >= 0.0 && n.is_finite() => Some(*n as u64),
            _ => event.user.as_ref().map(|_| 1),
        }
    }

    /// Scores one event.
    pub fn score_event(&self, event: &Event, classification: Option<&Classification>) -> Impact {
        let c = &self.config;
        let (severity, severity_detail) = match classification {
            Some(cl) => {
                let v = match cl.severity {
                    Severity::Low => 0.25,
                    Severity::Medium => 0.5,
                    Severity::High => 0.75,
                    Severity::Critical => 1.0,
                };
                let name = match cl.severity {
                    Severity::Low => "low",
                    Severity::Medium => "medium",
                    Severity::High => "high",
                    Severity::Critical => "critical",
                };
                (v, [name, " severity of ", &cl.code].concat())
            }
            None => {
                let v = match event.level {
                    Level::Debug => 0.0,
                    Level::Info => 0.1,
                    Level::Warning => 0.3,
                    Level::Error => 0.6,
                    Level::Fatal => 1.0,
                };
                let name = match event.level {
                    Level::Debug => "debug",
                    Level::Info => "info",
                    Level::Warning => "warning",
                    Level::Error => "error",
                    Level::Fatal => "fatal",
                };
                (v, ["level ", name].concat())
            }
        };
        let tier = self.tier(event);
        let criticality = match tier.as_deref().map(|t| {
            t.trim()
                .trim_start_matches("tier")
                .trim_start_matches(['-', ' '])
        }) {
            Some("0") | Some("1") | Some("critical") => 1.0,
            Some("2") | Some("high") => 0.7,
            Some("3") | Some("medium") => 0.4,
            Some("4") | Some("low") => 0.15,
            _ => c.unknown_criticality,
        };
        let criticality_detail = match &tier {
            Some(t) => ["service tier ", t.as_ref()].concat(),
            None => "service tier unknown".into(),
        };
        let users = self.users(event);
        let users_value = users.map_or(0.0, |u| {
            ((1.0 + u as f64).ln() / (1.0 + c.users_full_scale as f64).ln()).min(1.0)
        });
        let transaction = event.transaction.as_deref();
        let critical_flow = transaction.and_then(|t| {
            let found = (self.critical_lower.iter()).position(|p| contains_ignoring_case(t, p));
            found.map(|n| &c.critical_transactions[n])
        });
        let (transaction_value, transaction_detail) = match (transaction, critical_flow) {
            (Some(t), Some(p)) => (1.0, [t, " is a critical flow (", p, ")"].concat()),
            (Some(t), None) => (0.3, [t, " is not a critical flow"].concat()),
            (None, _) => (0.0, "no transaction".into()),
        };
        let revenue = self.revenue(event);
        let revenue_value = revenue.as_ref().map_or(0.0, |m| {
            let v = m.minor_units.max(0) as f64;
            ((1.0 + v).ln() / (1.0 + c.revenue_full_scale_minor as f64).ln()).min(1.0)
        });
        let revenue_detail = match &revenue {
            Some(m) => {
                let mut amount = itoa::Buffer::new();
                [
                    amount.format(m.minor_units),
                    " ",
                    &m.currency,
                    " minor units at risk",
                ]
                .concat()
            }
            None => "no amount on the event".into(),
        };
        let w = &c.weights;
        let inputs = [
            ("severity", w.severity, severity, severity_detail),
            (
                "criticality",
                w.criticality,
                criticality,
                criticality_detail,
            ),
            (
                "users",
                w.users,
                users_value,
                match users {
                    Some(u) => [itoa::Buffer::new().format(u), " users affected"].concat(),
                    None => "users affected unknown".into(),
                },
            ),
            (
                "transaction",
                w.transaction,
                transaction_value,
                transaction_detail,
            ),
            ("revenue", w.revenue, revenue_value, revenue_detail),
        ];
        let total_weight: f64 = inputs.iter().map(|i| i.1).sum();
        let factors: Vec<Factor> = inputs
            .into_iter()
            .map(|(name, weight, value, detail)| Factor {
                name: name.into(),
                weight,
                value,
                contribution: 100.0 * weight * value / total_weight,
                detail,
            })
            .collect();
        let score = factors
            .iter()
            .map(|f| f.contribution)
            .sum::<f64>()
            .round()
            .clamp(0.0, 100.0) as u8;
        let [low, medium, high, critical] = c.thresholds;
        let level = if score >= critical {
            ImpactLevel::Critical
        } else if score >= high {
            ImpactLevel::High
        } else if score >= medium {
            ImpactLevel::Medium
        } else if score >= low {
            ImpactLevel::Low
        } else {
            ImpactLevel::Negligible
        };
        Impact {
            score,
            level,
            revenue_at_risk: revenue,
            users_affected: users,
            factors,
        }
    }
}

impl Scorer for ImpactScorer {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "weighted error index from severity, criticality, users, transaction and revenue";
    /// Tier, amounts and user counts come from tags, attributes and the user.
    const READS: Option<EventParts> = Some(
        EventParts::TAGS
            .union(EventParts::USER)
            .union(EventParts::ATTRIBUTES),
    );

    fn new(config: Config) -> Result<Self, PluginError> {
        ImpactScorer::with_config(config)
    }

    fn score(
        &mut self,
        event: &Event,
        classification: Option<&Classification>,
    ) -> Result<Impact, PluginError> {
        Ok(self.score_event(event, classification))
    }
}

faultline_sdk::export_scorer!(ImpactScorer);

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sdk::{Attribute, new_event};

    fn attr(key: &str, value: Value) -> Attribute {
        Attribute {
            key: key.into(),
            value,
        }
    }

    #[test]
    fn minor_units_are_exact() {
        assert_eq!(to_minor_units("129.99", 2), Some(12999));
        assert_eq!(to_minor_units("129.9", 2), Some(12990));
        assert_eq!(to_minor_units("129", 2), Some(12900));
        assert_eq!(to_minor_units("0.005", 2), Some(1));
        assert_eq!(to_minor_units("1500", 0), Some(1500));
        assert_eq!(to_minor_units("1.2345", 3), Some(1235));
        assert_eq!(to_minor_units("-3.50", 2), Some(-350));
        assert_eq!(to_minor_units("12a", 2), None);
        assert_eq!(to_minor_units("", 2), None);
    }

    #[test]
    fn checkout_on_tier_one_with_revenue_scores_high_and_explains() {
        let scorer = ImpactScorer::with_config(Config::default()).unwrap();
        let mut event = new_event("e");
        event.level = Level::Fatal;
        event.transaction = Some("POST /checkout".into());
        event
            .attributes
            .push(attr("contexts.service.tier", Value::Text("1".into())));
        event
            .attributes
            .push(attr("extra.cart_total", Value::Number(249.5)));
        event
            .attributes
            .push(attr("extra.currency", Value::Text("eur".into())));
        event
            .attributes
            .push(attr("extra.users_affected", Value::Integer(1200)));
        let impact = scorer.score_event(&event, None);
        assert_eq!(impact.revenue_at_risk.as_ref().unwrap().minor_units, 24950);
        assert_eq!(impact.revenue_at_risk.as_ref().unwrap().currency, "EUR");
        assert_eq!(impact.users_affected, Some(1200));
        assert!(impact.score >= 80, "score {}", impact.score);
        assert_eq!(impact.level, ImpactLevel::Critical);
        let sum: f64 = impact.factors.iter().map(|f| f.contribution).sum();
        assert_eq!(sum.round() as u8, impact.score);
        let details: Vec<&str> = impact.factors.iter().map(|f| f.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "level fatal",
                "service tier 1",
                "1200 users affected",
                "POST /checkout is a critical flow (checkout)",
                "24950 EUR minor units at risk",
            ]
        );
    }

    #[test]
    fn debug_noise_scores_low() {
        let scorer = ImpactScorer::with_config(Config::default()).unwrap();
        let mut event = new_event("e");
        event.level = Level::Debug;
        event
            .attributes
            .push(attr("tier", Value::Text("tier-4".into())));
        let impact = scorer.score_event(&event, None);
        assert!(impact.score < 20, "score {}", impact.score);
        assert_eq!(impact.level, ImpactLevel::Negligible);
    }

    #[test]
    fn weights_come_from_config() {
        let mut event = new_event("e");
        event.transaction = Some("checkout".into());
        let only_tx: Config =
            faultline_sdk::parse_config(r#"{"weights": {"severity": 0, "criticality": 0, "users": 0, "transaction": 1, "revenue": 0}}"#).unwrap();
        let impact = ImpactScorer::with_config(only_tx)
            .unwrap()
            .score_event(&event, None);
        assert_eq!(impact.score, 100);
    }

    #[test]
    fn critical_flows_match_in_any_case_and_are_named_as_configured() {
        let config: Config =
            faultline_sdk::parse_config(r#"{"critical_transactions": ["refund", "Pay"]}"#).unwrap();
        let scorer = ImpactScorer::with_config(config).unwrap();
        let detail = |transaction: &str| {
            let mut event = new_event("e");
            event.transaction = Some(transaction.into());
            let impact = scorer.score_event(&event, None);
            let factor = impact.factors.iter().find(|f| f.name == "transaction");
            factor.unwrap().detail.clone()
        };
        assert_eq!(
            detail("POST /PAYMENTS"),
            "POST /PAYMENTS is a critical flow (Pay)"
        );
        assert_eq!(
            detail("Refund.Create"),
            "Refund.Create is a critical flow (refund)"
        );
        assert_eq!(
            detail("GET /checkout"),
            "GET /checkout is not a critical flow"
        );
    }

    /// The search without a copy finds what lowering the text and searching
    /// it finds, at every position, past ASCII and for an empty fragment.
    #[test]
    fn a_fragment_is_found_in_any_case_as_in_a_lowered_copy() {
        let texts = [
            "",
            "p",
            "PAY",
            "xPaYx",
            "paypa",
            "PA",
            "\u{212a}pay",
            "p\u{e9}Y",
            "Pay\u{e9}",
        ];
        let fragments = ["", "p", "pay", "ay", "pay\u{e9}", "\u{e9}y", "payx", "k"];
        for text in texts {
            for fragment in fragments {
                assert_eq!(
                    contains_ignoring_case(text, fragment),
                    text.to_ascii_lowercase().contains(fragment),
                    "{text:?} {fragment:?}"
                );
            }
        }
    }

    #[test]
    fn bad_config_is_rejected() {
        let bad: Config =
            faultline_sdk::parse_config(r#"{"thresholds": [50, 40, 60, 80]}"#).unwrap();
        assert!(ImpactScorer::with_config(bad).is_err());
        let zero: Config = faultline_sdk::parse_config(
            r#"{"weights": {"severity": 0, "criticality": 0, "users": 0, "transaction": 0, "revenue": 0}}"#,
        )
        .unwrap();
        assert!(ImpactScorer::with_config(zero).is_err());
    }
}
