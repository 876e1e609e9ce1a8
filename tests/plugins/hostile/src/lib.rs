//! A classifier that misbehaves in the way its event's message names:
//! `trap`, `unreachable`, `loop`, `memory`, `recurse`, `huge`, `error`;
//! any other message gets the classification `HOSTILE.OK`.

use faultline_sdk::{Classification, Classifier, Event, PluginError, Severity};

/// The hostile classifier.
pub struct Hostile;

#[allow(unconditional_recursion, clippy::only_used_in_recursion)]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(depth + 1)) + 1
}

impl Classifier for Hostile {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "misbehaves on purpose";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Hostile)
    }

    fn classify(&mut self, event: &Event) -> Result<Option<Classification>, PluginError> {
        let mut code = "HOSTILE.OK".to_string();
        match event.message.as_deref().unwrap_or("") {
            "trap" => panic!("deliberate panic in the hostile plugin"),
            "unreachable" => {
                #[cfg(target_arch = "wasm32")]
                core::arch::wasm32::unreachable();
            }
            "loop" => loop {
                std::hint::black_box(());
            },
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
                }
            }
            "recurse" => {
                recurse(0);
            }
            "huge" => code = "X".repeat(8 << 20),
            "error" => return Err(PluginError::Internal("deliberate error".into())),
            _ => {}
        }
        Ok(Some(Classification {
            code,
            category: vec!["hostile".into()],
            taxonomy: "hostile/1".into(),
            severity: Severity::Low,
            confidence: 1.0,
            fingerprint: None,
        }))
    }
}

faultline_sdk::export_classifier!(Hostile);
