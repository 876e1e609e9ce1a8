//! The parts of an event a plugin declared it does not read (`reads` in its
//! metadata), taken out of the event for the length of one call and put back
//! after it: the plugin never sees them, and the host never copies them into
//! the plugin's memory.

use super::bindings::faultline::plugin::types::{
    Attribute, Event, EventParts, Frame, Request, User,
};

/// What one call withheld, to be put back with [`Withheld::restore`].
#[derive(Default)]
pub(crate) struct Withheld {
    /// Per exception: its frames, when frames are withheld.
    frames: Vec<Vec<Frame>>,
    /// Per exception and frame: its variables, when only variables are.
    vars: Vec<Vec<Vec<Attribute>>>,
    tags: Option<Vec<(String, String)>>,
    user: Option<Option<User>>,
    request: Option<Option<Request>>,
    attributes: Option<Vec<Attribute>>,
}

impl Withheld {
    /// Takes out of `event` every part `reads` leaves out. Moves only: no
    /// string is copied.
    pub(crate) fn take(event: &mut Event, reads: EventParts) -> Withheld {
        let mut held = Withheld::default();
        if !reads.contains(EventParts::FRAMES) {
            held.frames = event
                .exceptions
                .iter_mut()
                .map(|e| std::mem::take(&mut e.frames))
                .collect();
        } else if !reads.contains(EventParts::FRAME_VARS) {
            held.vars = event
                .exceptions
                .iter_mut()
                .map(|e| {
                    e.frames
                        .iter_mut()
                        .map(|f| std::mem::take(&mut f.vars))
                        .collect()
                })
                .collect();
        }
        if !reads.contains(EventParts::TAGS) {
            held.tags = Some(std::mem::take(&mut event.tags));
        }
        if !reads.contains(EventParts::USER) {
            held.user = Some(event.user.take());
        }
        if !reads.contains(EventParts::REQUEST) {
            held.request = Some(event.request.take());
        }
        if !reads.contains(EventParts::ATTRIBUTES) {
            held.attributes = Some(std::mem::take(&mut event.attributes));
        }
        held
    }

    /// Puts the withheld parts back. The plugin cannot have changed the
    /// event (it only returns output), so every part goes back where it was.
    pub(crate) fn restore(self, event: &mut Event) {
        for (exception, frames) in event.exceptions.iter_mut().zip(self.frames) {
            exception.frames = frames;
        }
        for (exception, vars) in event.exceptions.iter_mut().zip(self.vars) {
            for (frame, vars) in exception.frames.iter_mut().zip(vars) {
                frame.vars = vars;
            }
        }
        if let Some(tags) = self.tags {
            event.tags = tags;
        }
        if let Some(user) = self.user {
            event.user = user;
        }
        if let Some(request) = self.request {
            event.request = request;
        }
        if let Some(attributes) = self.attributes {
            event.attributes = attributes;
        }
    }
}

/// The names of the optional parts `reads` includes, as in the WIT; `None`
/// when the plugin reads every part.
pub fn names(reads: Option<EventParts>) -> Option<Vec<&'static str>> {
    let reads = reads?;
    let names = [
        (EventParts::FRAMES, "frames"),
        (EventParts::FRAME_VARS, "frame-vars"),
        (EventParts::TAGS, "tags"),
        (EventParts::USER, "user"),
        (EventParts::REQUEST, "request"),
        (EventParts::ATTRIBUTES, "attributes"),
    ];
    Some(
        names
            .iter()
            .filter(|(part, name)| {
                reads.contains(*part)
                    && (*name != "frame-vars" || reads.contains(EventParts::FRAMES))
            })
            .map(|(_, name)| *name)
            .collect(),
    )
}

/// `reads` as operators see it (`check`, `plugin inspect`).
pub fn describe(reads: Option<EventParts>) -> String {
    match names(reads) {
        None => "every part".into(),
        Some(read) if read.is_empty() => "scalar fields and exceptions only".into(),
        Some(read) => format!("scalar fields, exceptions and {}", read.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        crate::event::from_json(&serde_json::json!({
            "event_id": "0".repeat(32),
            "message": "m",
            "exception": {"values": [{"type": "E", "stacktrace": {"frames": [
                {"function": "f1", "lineno": 1, "in_app": true, "vars": {"password": "hunter2"}},
                {"function": "f2", "lineno": 2, "in_app": true, "vars": {"password": "hunter2"}}
            ]}}]},
            "tags": {"k": "v"},
            "user": {"id": "u"},
            "request": {"method": "GET"},
            "extra": {"a": 1}
        }))
        .expect("a valid event")
    }

    #[test]
    fn withholds_exactly_the_parts_left_out_and_restores_them() {
        let original = event();
        let cases = [
            EventParts::empty(),
            EventParts::FRAMES,
            EventParts::FRAMES | EventParts::FRAME_VARS,
            EventParts::FRAME_VARS,
            EventParts::TAGS | EventParts::USER,
            EventParts::REQUEST | EventParts::ATTRIBUTES,
            EventParts::all(),
        ];
        for reads in cases {
            let mut e = original.clone();
            let held = Withheld::take(&mut e, reads);
            let frames = reads.contains(EventParts::FRAMES);
            assert_eq!(e.exceptions[0].frames.len(), if frames { 2 } else { 0 });
            if frames {
                let vars = reads.contains(EventParts::FRAME_VARS);
                assert_eq!(e.exceptions[0].frames[1].vars.len(), usize::from(vars));
            }
            assert_eq!(e.tags.is_empty(), !reads.contains(EventParts::TAGS));
            assert_eq!(e.user.is_none(), !reads.contains(EventParts::USER));
            assert_eq!(e.request.is_none(), !reads.contains(EventParts::REQUEST));
            assert_eq!(
                e.attributes.is_empty(),
                !reads.contains(EventParts::ATTRIBUTES)
            );
            assert_eq!(e.message, original.message);
            assert_eq!(e.exceptions[0].type_, "E");
            held.restore(&mut e);
            assert_eq!(
                crate::event::to_json(&e),
                crate::event::to_json(&original),
                "after {reads:?}"
            );
        }
    }

    #[test]
    fn describes_reads() {
        assert_eq!(describe(None), "every part");
        assert_eq!(
            describe(Some(EventParts::empty())),
            "scalar fields and exceptions only"
        );
        assert_eq!(
            describe(Some(EventParts::FRAME_VARS | EventParts::TAGS)),
            "scalar fields, exceptions and tags"
        );
    }
}
