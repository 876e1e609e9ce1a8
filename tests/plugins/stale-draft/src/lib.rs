//! A classifier built against an earlier draft of `faultline:plugin@0.1.0`,
//! whose `plugin-metadata` had no `reads`: its exports have the right names
//! and the wrong types.
//!
//! Only a WebAssembly build exports anything (a native shared library cannot
//! carry export names like `faultline:plugin/classifier@0.1.0#classify`).
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    inline: r#"
        package faultline:plugin@0.1.0;

        interface types {
            record plugin-metadata {
                name: string,
                version: string,
                description: string,
            }
            variant plugin-error {
                invalid-config(string),
                invalid-event(string),
                internal(string),
            }
        }

        interface classifier {
            use types.{plugin-metadata, plugin-error};
            metadata: func() -> plugin-metadata;
            configure: func(config: string) -> result<_, plugin-error>;
            classify: func(event: string) -> result<option<string>, plugin-error>;
        }

        world classifier-plugin {
            export classifier;
        }
    "#,
    world: "classifier-plugin",
});

use exports::faultline::plugin::classifier::Guest;
use faultline::plugin::types::{PluginError, PluginMetadata};

struct Stale;

impl Guest for Stale {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "stale-draft".into(),
            version: "0.1.0".into(),
            description: "built against an earlier draft".into(),
        }
    }

    fn configure(_config: String) -> Result<(), PluginError> {
        Ok(())
    }

    fn classify(_event: String) -> Result<Option<String>, PluginError> {
        Ok(None)
    }
}

export!(Stale);
