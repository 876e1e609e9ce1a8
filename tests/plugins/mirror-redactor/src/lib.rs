//! A redactor whose edits are made from the event it was shown: one per
//! attribute, replacing it with its value's `Debug` text or removing it, in
//! turn. A message `error:config|event|internal:...` returns that plugin
//! error, and `out-of-bounds` a path whose bytes are past the end of the
//! plugin's memory. Two ways of lifting results can be compared by what they read.

use faultline_sdk::{Edit, Event, PluginError, Redaction, Redactor};
use mirror_common::asked_error;

/// The mirror.
pub struct Mirror;

impl Redactor for Mirror {
    type Config = serde::de::IgnoredAny;
    const DESCRIPTION: &'static str = "returns edits made from the event";

    fn new(_config: Self::Config) -> Result<Self, PluginError> {
        Ok(Mirror)
    }

    fn redact(&mut self, event: &Event) -> Result<Vec<Edit>, PluginError> {
        if let Some(e) = asked_error(event.message.as_deref()) {
            return Err(e);
        }
        if event.message.as_deref() == Some("out-of-bounds") {
            // SAFETY: not upheld on purpose: the path points past the end of
            // the memory, for the host to refuse. Nothing here reads or
            // frees it: the bindings pass its pointer and length, and a
            // call whose result is refused has no post-return.
            let path = unsafe { String::from_raw_parts(0xffff_ff00_usize as *mut u8, 64, 64) };
            return Ok(vec![Edit {
                path,
                action: Redaction::Remove,
            }]);
        }
        Ok(event
            .attributes
            .iter()
            .enumerate()
            .map(|(i, a)| Edit {
                path: a.key.clone(),
                action: if i % 2 == 0 {
                    Redaction::Replace(format!("{:?}", a.value))
                } else {
                    Redaction::Remove
                },
            })
            .collect())
    }
}

faultline_sdk::export_redactor!(Mirror);
