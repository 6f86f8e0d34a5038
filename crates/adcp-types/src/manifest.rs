//! The protocol's registry, generated from `manifest.json`: every tool with its schemas,
//! mutating flag, async arms and specialisms; every standard error code with its recovery; and
//! the small string enums that name task types, statuses, specialisms and protocols.

pub use crate::generated::manifest::*;

use crate::error::Recovery;

/// One tool of the protocol, as the manifest describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolSpec {
    /// The tool name, which is also the MCP tool name and the A2A skill name.
    pub name: &'static str,
    /// The protocol domain (`media-buy`, `signals`, `protocol`, ...).
    pub protocol: &'static str,
    /// Whether the tool changes state (and so requires an `idempotency_key`).
    pub mutating: bool,
    /// The request schema, relative to the schema root (`media-buy/get-products-request.json`).
    pub request_schema: &'static str,
    /// The success response schema.
    pub response_schema: &'static str,
    /// The async arms (`...-async-response-submitted.json`, ...), if the tool may run as a task.
    pub async_response_schemas: &'static [&'static str],
    /// The specialisms that exercise this tool.
    pub specialisms: &'static [Specialism],
}

impl ToolSpec {
    /// The async arm schema for `status` (`submitted`, `working`, `input-required`), if any.
    pub fn async_arm_schema(&self, status: TaskStatus) -> Option<&'static str> {
        let suffix = format!("-async-response-{}.json", status.as_str());
        self.async_response_schemas
            .iter()
            .copied()
            .find(|schema| schema.ends_with(&suffix))
    }
}

/// The manifest entry of a tool, by name.
pub fn tool(name: &str) -> Option<&'static ToolSpec> {
    tool_position(name).map(|i| &TOOLS[i])
}

/// Where the tool `name` sits in [`TOOLS`].
pub(crate) fn tool_position(name: &str) -> Option<usize> {
    TOOLS.binary_search_by(|spec| spec.name.cmp(name)).ok()
}

/// One standard error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCodeSpec {
    /// The code, e.g. `INVALID_REQUEST`.
    pub code: &'static str,
    /// Its recovery classification.
    pub recovery: Recovery,
    /// The manifest's suggestion for a buyer agent.
    pub suggestion: &'static str,
}

/// One specialism, as the manifest describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialismSpec {
    /// The specialism (its wire spelling is kebab-case).
    pub specialism: Specialism,
    /// The protocol domain it belongs to.
    pub protocol: &'static str,
    /// A human title.
    pub title: &'static str,
    /// The tools a buyer calls first when exercising it.
    pub entry_point_tools: &'static [&'static str],
    /// Every tool its compliance storyboards exercise.
    pub exercised_tools: &'static [&'static str],
}

impl TaskStatus {
    /// Whether the status is final: nothing changes a task after it.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Canceled | Self::Rejected
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_tables_have_the_expected_sizes() {
        assert_eq!(TOOLS.len(), 64);
        assert_eq!(ERROR_CODES.len(), 92);
        assert_eq!(TaskType::ALL.len(), 23);
        assert!(
            TOOLS.windows(2).all(|w| w[0].name < w[1].name),
            "TOOLS is sorted"
        );
    }

    #[test]
    fn tool_lookup_and_async_arms() {
        let spec = tool("get_signals").expect("get_signals is a tool");
        assert!(spec.async_arm_schema(TaskStatus::Submitted).is_some());
        assert!(spec.async_arm_schema(TaskStatus::InputRequired).is_none());
        assert!(tool("no_such_tool").is_none());
    }

    #[test]
    fn enums_round_trip_their_wire_spelling() {
        for status in TaskStatus::ALL {
            assert_eq!(status.as_str().parse::<TaskStatus>().unwrap(), *status);
        }
        assert_eq!(
            serde_json::to_string(&TaskStatus::InputRequired).unwrap(),
            "\"input-required\""
        );
        assert_eq!(
            "signal-owned".parse::<Specialism>().unwrap(),
            Specialism::SignalOwned
        );
        assert!("nope".parse::<TaskType>().is_err());
    }
}
