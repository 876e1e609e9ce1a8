//! Which chain an event runs through: the first `[[routes]]` entry whose
//! fields all match, else its project's `chain`, else the server's chain.

use std::collections::BTreeMap;

use crate::config::{Config, RouteDef};
use crate::event::level_name;
use crate::runtime::bindings::faultline::plugin::types::Event;

/// The routing rules of one config.
#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<RouteDef>,
    by_project: BTreeMap<String, String>,
    fallback: String,
}

impl Router {
    /// Rules from `config`; `fallback` is the chain for everything else.
    pub fn new(config: &Config, fallback: String) -> Router {
        Router {
            routes: config.routes.clone(),
            by_project: config
                .projects
                .values()
                .filter_map(|p| Some((p.id.clone(), p.chain.clone()?)))
                .collect(),
            fallback,
        }
    }

    /// The chain for an event sent to `project`.
    pub fn chain_for(&self, project: &str, event: &Event) -> &str {
        let fits = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        self.routes
            .iter()
            .find(|r| {
                fits(&r.project, Some(project))
                    && fits(&r.environment, event.environment.as_deref())
                    && fits(&r.platform, Some(event.platform.as_str()))
                    && fits(&r.level, Some(level_name(event.level)))
            })
            .map(|r| r.chain.as_str())
            .or_else(|| self.by_project.get(project).map(String::as_str))
            .unwrap_or(&self.fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_route_then_project_then_fallback() {
        let config = Config::parse(
            r#"
[projects.2]
chain = "b"

[[routes]]
environment = "production"
level = "fatal"
chain = "c"

[[routes]]
project = "2"
platform = "python"
chain = "a"

[plugins.t]
builtin = "classifier-taxonomy"
[[chains.a.stages]]
plugin = "t"
[[chains.b.stages]]
plugin = "t"
[[chains.c.stages]]
plugin = "t"
"#,
            "routes.toml",
            std::path::Path::new("."),
        )
        .unwrap();
        let router = Router::new(&config, "a".into());
        let event = |v: serde_json::Value| crate::event::from_json(&v).unwrap();
        let python = event(serde_json::json!({"message": "x", "platform": "python"}));
        let js = event(serde_json::json!({"message": "x", "platform": "javascript"}));
        let fatal_prod = event(serde_json::json!({
            "message": "x", "platform": "python", "level": "fatal", "environment": "production"
        }));
        assert_eq!(router.chain_for("2", &python), "a");
        assert_eq!(router.chain_for("2", &js), "b");
        assert_eq!(router.chain_for("1", &js), "a", "fallback");
        assert_eq!(router.chain_for("1", &fatal_prod), "c");
        assert_eq!(router.chain_for("2", &fatal_prod), "c", "routes come first");
    }
}
