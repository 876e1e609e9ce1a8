wit_bindgen::generate!({ path: "wit", world: "__WORLD__" });

use std::cell::RefCell;

use faultline::plugin::types::{PluginError, PluginMetadata};

thread_local! {
    static CONFIG: RefCell<Option<Config>> = const { RefCell::new(None) };
}

fn metadata() -> PluginMetadata {
    PluginMetadata {
        name: "__NAME__".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        description: "__DESCRIPTION__".into(),
        // Every part of the event. Name only what the plugin reads, e.g.
        // `Some(EventParts::TAGS | EventParts::USER)`, and the host passes the
        // rest empty: less data shown to the plugin, less copied per event.
        reads: None,
    }
}

/// Parses the stage config (JSON text; unknown keys are refused) and keeps it.
fn configure(config: String) -> Result<(), PluginError> {
    let parsed: Config = serde_json::from_str(if config.is_empty() { "{}" } else { &config })
        .map_err(|e| PluginError::InvalidConfig(e.to_string()))?;
    CONFIG.with(|c| *c.borrow_mut() = Some(parsed));
    Ok(())
}

fn config<R>(f: impl FnOnce(&Config) -> R) -> Result<R, PluginError> {
    CONFIG.with(|c| {
        c.borrow()
            .as_ref()
            .map(f)
            .ok_or_else(|| PluginError::Internal("called before configure".into()))
    })
}

struct Plugin;
export!(Plugin);
