//! Context enricher: finds the service an event came from in a service-catalog
//! table and its user in a customer-segment table, and adds what it finds as
//! `contexts.service.*` / `contexts.customer.*` attributes and a few tags.

use std::borrow::Cow;

use faultline_sdk::{
    Attribute, Enricher, Enrichment, Event, EventParts, HostTables, LogLevel, LookupError,
    PluginError, Remembered, Row, Tables, Value,
};
use serde::Deserialize;

/// Where to read a lookup key from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `server_name`
    ServerName,
    /// `logger`; tried whole, then with trailing `.segment`s cut off.
    Logger,
    /// `transaction`
    Transaction,
    /// `environment`
    Environment,
    /// `user.id`
    UserId,
    /// `user.email`
    UserEmail,
    /// `tag:NAME`
    Tag(String),
    /// `attribute:PATH`
    Attribute(String),
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "server_name" => Source::ServerName,
            "logger" => Source::Logger,
            "transaction" => Source::Transaction,
            "environment" => Source::Environment,
            "user.id" => Source::UserId,
            "user.email" => Source::UserEmail,
            _ => {
                if let Some(tag) = s.strip_prefix("tag:") {
                    Source::Tag(tag.to_string())
                } else if let Some(path) = s.strip_prefix("attribute:") {
                    Source::Attribute(path.to_string())
                } else {
                    return Err(serde::de::Error::custom(format!(
                        "unknown key source {s:?}; expected server_name, logger, transaction, \
                         environment, user.id, user.email, tag:NAME or attribute:PATH"
                    )));
                }
            }
        })
    }
}

/// One lookup: a table, where its key comes from, and where the row goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupConfig {
    /// `table = "services"`: name of a table granted to the plugin.
    pub table: String,
    /// `from = ["tag:service", "server_name"]`: key sources, first hit wins.
    pub from: Vec<Source>,
    /// `context = "service"`: row columns are added as `contexts.<context>.<column>`.
    pub context: String,
    /// `tags = { team = "owner_team" }`: tag name to column; added as tags.
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

/// Stage config of the enricher.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The lookups to run, in order.
    pub lookups: Vec<LookupConfig>,
    /// `missing_tag = "unowned"`: when the first lookup finds nothing, tag
    /// `ownership` with this value (so unowned errors are easy to find).
    pub missing_tag: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let tags = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Config {
            lookups: vec![
                LookupConfig {
                    table: "services".into(),
                    from: vec![
                        Source::Tag("service".into()),
                        Source::ServerName,
                        Source::Transaction,
                        Source::Logger,
                    ],
                    context: "service".into(),
                    tags: tags(&[
                        ("team", "owner_team"),
                        ("business_unit", "business_unit"),
                        ("tier", "tier"),
                    ]),
                },
                LookupConfig {
                    table: "customers".into(),
                    from: vec![Source::UserId, Source::Tag("customer_id".into())],
                    context: "customer".into(),
                    tags: tags(&[("segment", "segment")]),
                },
            ],
            missing_tag: Some("unowned".into()),
        }
    }
}

/// The context enricher, generic over where tables come from.
pub struct Context<T: Tables = Remembered<HostTables>> {
    config: Config,
    tables: T,
}

/// A lookup's row, or the config error for a table the plugin may not read.
fn unavailable(found: Result<Option<Row>, LookupError>) -> Result<Option<Row>, PluginError> {
    found.map_err(
        |(LookupError::UnknownTable(t) | LookupError::NotGranted(t))| {
            PluginError::InvalidConfig(format!(
                "table {t:?} is not available to this plugin; declare it under \
             [tables] and list it in the plugin's `tables`"
            ))
        },
    )
}

impl<T: Tables> Context<T> {
    /// An enricher reading tables from `tables`.
    pub fn with_tables(config: Config, tables: T) -> Result<Self, PluginError> {
        for l in &config.lookups {
            if l.from.is_empty() {
                return Err(PluginError::InvalidConfig(format!(
                    "lookup of table {:?} has an empty `from` list",
                    l.table
                )));
            }
            if l.context.is_empty() || l.context.contains('.') {
                return Err(PluginError::InvalidConfig(format!(
                    "lookup of table {:?}: context {:?} must be a non-empty name without dots",
                    l.table, l.context
                )));
            }
            // Probe now, so a table the operator did not grant is a config
            // error at load time, not a failure on the first matching event.
            unavailable(tables.lookup(&l.table, ""))?;
        }
        Ok(Context { config, tables })
    }

    /// Sets `keys` to the lookup keys `source` gives for `event`, in order.
    fn candidates<'e>(event: &'e Event, source: &Source, keys: &mut Vec<&'e str>) {
        keys.clear();
        let one = |v: Option<&'e String>| v.map(String::as_str);
        match source {
            Source::ServerName => keys.extend(one(event.server_name.as_ref())),
            Source::Transaction => keys.extend(one(event.transaction.as_ref())),
            Source::Environment => keys.extend(one(event.environment.as_ref())),
            Source::UserId => keys.extend(one(event.user.as_ref().and_then(|u| u.id.as_ref()))),
            Source::UserEmail => {
                keys.extend(one(event.user.as_ref().and_then(|u| u.email.as_ref())))
            }
            Source::Logger => {
                let Some(logger) = event.logger.as_deref() else {
                    return;
                };
                keys.push(logger);
                let mut rest = logger;
                while let Some(i) = rest.rfind('.') {
                    rest = &rest[..i];
                    keys.push(rest);
                }
            }
            Source::Tag(name) => keys.extend(
                (event.tags.iter())
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str()),
            ),
            Source::Attribute(path) => keys.extend(
                (event.attributes.iter())
                    .filter(|a| &a.key == path)
                    .filter_map(|a| match &a.value {
                        Value::Text(s) => Some(s.as_str()),
                        _ => None,
                    }),
            ),
        }
    }

    fn find(&self, event: &Event, lookup: &LookupConfig) -> Result<Option<Row>, PluginError> {
        // One list of keys for every source of the lookup, not one each.
        let mut keys = Vec::new();
        for source in &lookup.from {
            Self::candidates(event, source, &mut keys);
            for key in &keys {
                if let Some(row) = unavailable(self.tables.lookup(&lookup.table, key))? {
                    return Ok(Some(row));
                }
            }
        }
        Ok(None)
    }
}

impl<T: Tables> Context<T> {
    /// Computes the enrichment for one event.
    pub fn enrich_event(&self, event: &Event) -> Result<Enrichment, PluginError> {
        let mut out = Enrichment {
            tags: Vec::new(),
            attributes: Vec::new(),
        };
        for (i, lookup) in self.config.lookups.iter().enumerate() {
            let Some(row) = self.find(event, lookup)? else {
                if i == 0
                    && let Some(tag) = &self.config.missing_tag
                {
                    out.tags.push(("ownership".into(), tag.clone()));
                }
                continue;
            };
            for (tag, column) in &lookup.tags {
                if let Some((_, v)) = row.iter().find(|(c, _)| c == column)
                    && !v.is_empty()
                {
                    out.tags.push((tag.clone(), v.clone()));
                }
            }
            for (column, value) in row {
                out.attributes.push(Attribute {
                    key: ["contexts.", &lookup.context, ".", &escape(&column)].concat(),
                    value: Value::Text(value),
                });
            }
        }
        Ok(out)
    }
}

fn escape(segment: &str) -> Cow<'_, str> {
    if !segment.contains(['\\', '.']) {
        return Cow::Borrowed(segment);
    }
    Cow::Owned(segment.replace('\\', "\\\\").replace('.', "\\."))
}

impl Enricher for Context<Remembered<HostTables>> {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "adds owning team, business unit, tier and customer segment from operator tables";
    /// Lookup keys come from scalar fields, the user, tags and attributes.
    const READS: Option<EventParts> = Some(
        EventParts::TAGS
            .union(EventParts::USER)
            .union(EventParts::ATTRIBUTES),
    );

    fn new(config: Config) -> Result<Self, PluginError> {
        let tables: Vec<&str> = config.lookups.iter().map(|l| l.table.as_str()).collect();
        faultline_sdk::log(
            LogLevel::Debug,
            &format!("enricher-context configured with tables {tables:?}"),
        );
        Context::with_tables(config, Remembered::new(HostTables))
    }

    fn enrich(&mut self, event: &Event) -> Result<Enrichment, PluginError> {
        self.enrich_event(event)
    }
}

faultline_sdk::export_enricher!(Context<Remembered<HostTables>>);

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sdk::{MemoryTables, User, new_event};

    fn tables() -> MemoryTables {
        let mut t = MemoryTables::new();
        let row = |pairs: &[(&str, &str)]| -> Row {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        t.insert(
            "services",
            "checkout-api",
            row(&[
                ("owner_team", "payments"),
                ("business_unit", "commerce"),
                ("tier", "1"),
                ("cloud.region\\x", "eu-west-1"),
            ]),
        );
        t.insert(
            "services",
            "app.billing",
            row(&[("owner_team", "billing"), ("tier", "2")]),
        );
        t.insert(
            "customers",
            "u-1",
            row(&[("segment", "enterprise"), ("plan", "gold")]),
        );
        t
    }

    fn tag<'a>(e: &'a Enrichment, k: &str) -> Option<&'a str> {
        e.tags.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn service_and_customer_lookups() {
        let ctx = Context::with_tables(Config::default(), tables()).unwrap();
        let mut event = new_event("e");
        event.server_name = Some("checkout-api".into());
        event.user = Some(User {
            id: Some("u-1".into()),
            email: None,
            username: None,
            ip_address: None,
        });
        let e = ctx.enrich_event(&event).unwrap();
        assert_eq!(tag(&e, "team"), Some("payments"));
        assert_eq!(tag(&e, "tier"), Some("1"));
        assert_eq!(tag(&e, "segment"), Some("enterprise"));
        assert_eq!(tag(&e, "ownership"), None);
        let keys: Vec<&str> = e.attributes.iter().map(|a| a.key.as_str()).collect();
        assert!(keys.contains(&"contexts.service.business_unit"));
        assert!(keys.contains(&"contexts.customer.plan"));
        // A column's dots and backslashes are escaped in its key.
        assert!(
            keys.contains(&"contexts.service.cloud\\.region\\\\x"),
            "{keys:?}"
        );
        // Sources are tried in order: the `service` tag before the server name.
        event.tags.push(("service".into(), "app.billing".into()));
        assert_eq!(
            tag(&ctx.enrich_event(&event).unwrap(), "team"),
            Some("billing")
        );
    }

    #[test]
    fn logger_prefixes_and_missing_owner() {
        let ctx = Context::with_tables(Config::default(), tables()).unwrap();
        let mut event = new_event("e");
        event.logger = Some("app.billing.invoices.pdf".into());
        assert_eq!(
            tag(&ctx.enrich_event(&event).unwrap(), "team"),
            Some("billing")
        );
        event.logger = Some("other".into());
        assert_eq!(
            tag(&ctx.enrich_event(&event).unwrap(), "ownership"),
            Some("unowned")
        );
    }

    #[test]
    fn ungranted_table_is_reported_at_configure() {
        let config: Config = faultline_sdk::parse_config(
            r#"{"lookups": [{"table": "nope", "from": ["server_name"], "context": "x"}]}"#,
        )
        .unwrap();
        let err = Context::with_tables(config, tables()).err().unwrap();
        assert!(err.message().contains("\"nope\" is not available"), "{err}");
    }

    #[test]
    fn bad_sources_are_rejected() {
        let err = faultline_sdk::parse_config::<Config>(
            r#"{"lookups": [{"table": "t", "from": ["hostname"], "context": "x"}]}"#,
        )
        .unwrap_err();
        assert!(
            err.message().contains("unknown key source \"hostname\""),
            "{err}"
        );
    }
}
