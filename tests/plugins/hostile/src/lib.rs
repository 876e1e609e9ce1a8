//! A classifier that misbehaves in the way its event's message names:
//! `trap`, `unreachable`, `loop`, `memory`, `recurse`, `huge`, `error`, or
//! `leak` (keeps 64 KiB per call for good); any other message gets the
//! classification `HOSTILE.OK`. The category's second entry counts the calls
//! this instance has served (`call-N`).

use faultline_sdk::{Classification, Classifier, Event, PluginError, Severity};

/// The hostile classifier.
pub struct Hostile {
    calls: u64,
}

#[allow(unconditional_recursion, clippy::only_used_in_recursion)]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(depth + 1)) + 1
}

impl Classifier for Hostile {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "misbehaves on purpose";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Hostile { calls: 0 })
    }

    fn classify(&mut self, event: &Event) -> Result<Option<Classification>, PluginError> {
        self.calls += 1;
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
            // Sixteen times the 64 KiB output limit the tests set; small
            // enough that growing memory for it on a fresh instance stays
            // far inside their timeout on a loaded machine (8 MiB took up
            // to 44 ms there).
            "huge" => code = "X".repeat(1 << 20),
            "error" => return Err(PluginError::Internal("deliberate error".into())),
            "leak" => std::mem::forget(std::hint::black_box(vec![1u8; 64 << 10])),
            _ => {}
        }
        Ok(Some(Classification {
            code,
            category: vec!["hostile".into(), format!("call-{}", self.calls)],
            taxonomy: "hostile/1".into(),
            severity: Severity::Low,
            confidence: 1.0,
            fingerprint: None,
        }))
    }
}

faultline_sdk::export_classifier!(Hostile);
