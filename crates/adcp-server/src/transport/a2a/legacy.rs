//! A2A v0.3 dialect: buyers calling the v0.3 method names (`message/send`, `tasks/get`,
//! `tasks/cancel`) get v0.3 shapes — objects tagged with `kind`, lowercase kebab-case states
//! and roles, and the task itself as the `message/send` result — converted from the 1.0 JSON.

use serde::Serialize;
use serde_json::{Map, Value};

/// Which A2A version's shapes to answer with, decided by the method name called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// A2A 1.0 (`SendMessage`, `GetTask`, …).
    V1,
    /// A2A v0.3 (`message/send`, `tasks/get`, …).
    V03,
}

/// A 1.0 `SendMessage` result (`{"task": …}`), serialised from the task itself.
#[derive(Serialize)]
pub(super) struct SendResult<'a> {
    /// The task the message started.
    pub(super) task: &'a a2a::Task,
}

impl Dialect {
    /// The dialect of a JSON-RPC method name (v0.3 names contain a `/`).
    pub(super) fn of(method: &str) -> Self {
        if method.contains('/') {
            Self::V03
        } else {
            Self::V1
        }
    }

    /// The `SendMessage` result for `task` (1.0 JSON): `{"task": …}` in 1.0, the task itself in
    /// v0.3.
    pub(super) fn send_result(self, task: Value) -> Value {
        match self {
            Self::V1 => {
                let mut result = Map::new();
                result.insert("task".to_owned(), task);
                Value::Object(result)
            }
            Self::V03 => adcp_webhooks::payload::a2a_task_v03(task),
        }
    }

    /// A task as `GetTask`/`CancelTask` answer it.
    pub(super) fn task(self, task: Value) -> Value {
        match self {
            Self::V1 => task,
            Self::V03 => adcp_webhooks::payload::a2a_task_v03(task),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_method_name_picks_the_dialect() {
        assert_eq!(Dialect::of("SendMessage"), Dialect::V1);
        assert_eq!(Dialect::of("message/send"), Dialect::V03);
        assert_eq!(Dialect::of("tasks/get"), Dialect::V03);
    }

    #[test]
    fn v03_tags_kinds_and_lowercases_states_and_roles() {
        let task = json!({
            "id": "t", "contextId": "c",
            "status": {"state": "TASK_STATE_INPUT_REQUIRED",
                       "message": {"messageId": "m", "role": "ROLE_AGENT", "parts": [{"data": {"a": 1}}]}},
            "artifacts": [{"artifactId": "a", "parts": [{"text": "hi"}, {"data": {}}]}]
        });
        let v1 = Dialect::V1.send_result(task.clone());
        assert_eq!(v1["task"], task);
        let v03 = Dialect::V03.send_result(task);
        assert_eq!(v03["kind"], "task");
        assert_eq!(v03["status"]["state"], "input-required");
        assert_eq!(v03["status"]["message"]["kind"], "message");
        assert_eq!(v03["status"]["message"]["role"], "agent");
        assert_eq!(v03["status"]["message"]["parts"][0]["kind"], "data");
        assert_eq!(v03["artifacts"][0]["parts"][0]["kind"], "text");
        assert_eq!(v03["artifacts"][0]["parts"][1]["kind"], "data");
    }
}
