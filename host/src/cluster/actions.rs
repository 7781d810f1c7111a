//! People's actions on the feedback board (`ack`, `resolve`) shared by every search node: the
//! node that takes one publishes it to the JetStream stream `OPSLOOP_FEEDBACK` before applying
//! it, and every search node (that one included, which changes nothing the second time) applies
//! what the stream holds, in order. An action on an item a node has not built yet (its pieces
//! not adopted yet) waits for it.

use serde::{Deserialize, Serialize};

use super::NodeContext;
use super::follow::{Handled, follow};
use crate::feedback::Action;

/// The stream and its one subject.
pub const FEEDBACK_STREAM: &str = "OPSLOOP_FEEDBACK";
pub const FEEDBACK_SUBJECT: &str = "opsloop.feedback";

/// One action as the stream holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackAction {
    pub item: String,
    /// `ack` or `resolve`.
    pub action: String,
    pub at_ms: i64,
}

impl FeedbackAction {
    pub fn new(item: &str, action: Action) -> Self {
        let action = match action {
            Action::Acknowledge => "ack",
            Action::Resolve => "resolve",
        };
        Self { item: item.to_string(), action: action.to_string(), at_ms: super::now_ms() }
    }

    fn action(&self) -> Option<Action> {
        match self.action.as_str() {
            "ack" => Some(Action::Acknowledge),
            "resolve" => Some(Action::Resolve),
            _ => None,
        }
    }
}

/// Applies an action to the node's board: `Ok(true)` applied, `Ok(false)` no such item (yet).
pub type ActionSink = Box<dyn Fn(&str, Action) -> Result<bool, String> + Send>;

/// Follows the feedback stream until the node stops.
pub fn follow_actions(context: &NodeContext, sink: &ActionSink) {
    follow(context, FEEDBACK_STREAM, "feedback", |payload| {
        let Some((action, kind)) = serde_json::from_slice::<FeedbackAction>(payload)
            .ok()
            .and_then(|action| Some((action.clone(), action.action()?)))
        else {
            tracing::error!("cluster feedback action unreadable; skipped");
            return Handled::Done;
        };
        match sink(&action.item, kind) {
            Ok(true) => Handled::Done,
            Ok(false) => Handled::Later(format!("no feedback item `{}` on this node yet", action.item)),
            Err(error) => Handled::Later(error),
        }
    });
}
