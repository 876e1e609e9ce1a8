//! What the mirror test plugins share: a message
//! `error:config|event|internal:TEXT` makes any of them return that plugin
//! error with `TEXT`.

use faultline_sdk::PluginError;

/// The plugin error `message` asks for, if it asks for one.
pub fn asked_error(message: Option<&str>) -> Option<PluginError> {
    let rest = message?.strip_prefix("error:")?;
    let (kind, text) = rest.split_once(':').unwrap_or((rest, ""));
    Some(match kind {
        "config" => PluginError::InvalidConfig(text.into()),
        "event" => PluginError::InvalidEvent(text.into()),
        _ => PluginError::Internal(text.into()),
    })
}
