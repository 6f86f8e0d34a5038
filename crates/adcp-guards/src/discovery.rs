//! The two discovery verbs, their modes, and the rules that keep a request consistent with its
//! mode.
//!
//! get_products names its mode `buying_mode` (brief, wholesale, refine); get_signals names it
//! `discovery_mode` (brief, wholesale). A missing mode means brief: pre-v3 buyers omit it and a
//! compliance storyboard does too.

use std::fmt;

use serde_json::{Map, Value};

use crate::rule::{Rejection, Rule};
use crate::view::ObjectView;

/// A discovery verb: a read that may be served wholesale (always synchronously) or curated
/// (possibly as a task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiscoveryVerb {
    /// `get_products`, mode field `buying_mode`.
    GetProducts,
    /// `get_signals`, mode field `discovery_mode`.
    GetSignals,
}

impl DiscoveryVerb {
    /// The verb named by a tool name, `None` for every other tool.
    pub fn from_tool(tool: &str) -> Option<Self> {
        match tool {
            "get_products" => Some(Self::GetProducts),
            "get_signals" => Some(Self::GetSignals),
            _ => None,
        }
    }

    /// The tool name.
    pub const fn tool(self) -> &'static str {
        match self {
            Self::GetProducts => "get_products",
            Self::GetSignals => "get_signals",
        }
    }

    /// The request field that carries the mode.
    pub const fn mode_field(self) -> &'static str {
        match self {
            Self::GetProducts => "buying_mode",
            Self::GetSignals => "discovery_mode",
        }
    }

    /// The modes this verb accepts.
    pub const fn modes(self) -> &'static [DiscoveryMode] {
        match self {
            Self::GetProducts => &[
                DiscoveryMode::Brief,
                DiscoveryMode::Wholesale,
                DiscoveryMode::Refine,
            ],
            Self::GetSignals => &[DiscoveryMode::Brief, DiscoveryMode::Wholesale],
        }
    }
}

impl fmt::Display for DiscoveryVerb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tool())
    }
}

/// The buyer's intent for a discovery request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiscoveryMode {
    /// Curated discovery from a brief; may complete synchronously or as a task.
    Brief,
    /// The raw feed; must complete synchronously (partial results use `incomplete[]`).
    Wholesale,
    /// Iteration on an earlier get_products response (get_products only); may be a task.
    Refine,
}

impl DiscoveryMode {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Brief => "brief",
            Self::Wholesale => "wholesale",
            Self::Refine => "refine",
        }
    }
}

impl fmt::Display for DiscoveryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const BRIEF: &str = "brief";
const REFINE: &str = "refine";
const SIGNAL_SELECTORS: [&str; 3] = ["signal_spec", "signal_refs", "signal_ids"];
const FEED_VERSION: &str = "if_wholesale_feed_version";
const PRICING_VERSION: &str = "if_pricing_version";

/// The fields of a discovery request the rules read, already type-checked.
#[derive(Debug)]
pub(crate) struct DiscoveryRequestView<'a> {
    verb: DiscoveryVerb,
    mode: DiscoveryMode,
    fields: VerbFields<'a>,
    feed_tokens: FeedTokens,
}

/// The fields only one verb has.
#[derive(Debug)]
enum VerbFields<'a> {
    Products {
        /// Whether `brief` is present.
        has_brief: bool,
        /// `refine[]`, when present.
        refine: Option<Vec<RefineEntryView<'a>>>,
    },
    Signals {
        /// The selectors present (non-null), by name, in schema order.
        present: Vec<&'static str>,
        /// Whether some selector actually selects: a string `signal_spec`, or a non-empty list.
        usable: bool,
    },
}

/// Which wholesale feed version tokens are present.
#[derive(Debug, Clone, Copy)]
struct FeedTokens {
    feed_version: bool,
    pricing_version: bool,
}

/// The two fields of a `refine[]` entry the finalize-exclusivity rule reads.
#[derive(Debug)]
struct RefineEntryView<'a> {
    scope: Option<&'a str>,
    action: Option<&'a str>,
}

impl<'a> DiscoveryRequestView<'a> {
    /// Reads the fields `verb`'s rules need; a wrong type is a `malformed_field` rejection.
    pub(crate) fn read(
        verb: DiscoveryVerb,
        request: &'a Map<String, Value>,
    ) -> Result<Self, Rejection> {
        let root = ObjectView::new(request, "", Rule::MalformedField);
        let mode = read_mode(verb, &root)?;
        let feed_tokens = FeedTokens {
            feed_version: root.string(FEED_VERSION)?.is_some(),
            pricing_version: root.string(PRICING_VERSION)?.is_some(),
        };
        let fields = match verb {
            DiscoveryVerb::GetProducts => VerbFields::Products {
                has_brief: root.string(BRIEF)?.is_some(),
                refine: root
                    .array(REFINE)?
                    .map(|entries| read_refine(&root, entries))
                    .transpose()?,
            },
            DiscoveryVerb::GetSignals => {
                let [spec, refs, ids] = SIGNAL_SELECTORS;
                let mut usable = root.string(spec)?.is_some();
                for key in [refs, ids] {
                    // An empty list selects nothing (the schema's minItems is 1).
                    usable |= root.array(key)?.is_some_and(|items| !items.is_empty());
                }
                let present = SIGNAL_SELECTORS
                    .into_iter()
                    .filter(|key| root.has(key))
                    .collect();
                VerbFields::Signals { present, usable }
            }
        };
        Ok(Self {
            verb,
            mode,
            fields,
            feed_tokens,
        })
    }

    /// The mode, brief when the request omitted it.
    pub(crate) fn mode(&self) -> DiscoveryMode {
        self.mode
    }

    /// Applies the mode-consistency rules, first failure wins.
    pub(crate) fn check_consistency(&self) -> Result<(), Rejection> {
        match &self.fields {
            VerbFields::Products { has_brief, refine } => {
                self.check_products(*has_brief, refine.as_deref())?;
            }
            VerbFields::Signals { present, usable } => self.check_signals(present, *usable)?,
        }
        self.check_feed_versions()
    }

    fn check_products(
        &self,
        has_brief: bool,
        refine: Option<&[RefineEntryView<'_>]>,
    ) -> Result<(), Rejection> {
        let has_entries = refine.is_some_and(|entries| !entries.is_empty());
        if self.mode == DiscoveryMode::Refine && !has_entries {
            return Err(Rejection::new(
                Rule::RefineWithoutEntries,
                "buying_mode \"refine\" needs a non-empty `refine` array of change requests; \
                 add at least one entry, or use buying_mode \"brief\" for a new search.",
                Some(REFINE.to_owned()),
            ));
        }
        if self.mode != DiscoveryMode::Refine && refine.is_some() {
            return Err(Rejection::new(
                Rule::RefineEntriesOutsideRefineMode,
                format!(
                    "`refine` is only valid with buying_mode \"refine\" (this request is in \
                     \"{}\" mode); set buying_mode to \"refine\" or drop `refine`.",
                    self.mode
                ),
                Some(self.verb.mode_field().to_owned()),
            ));
        }
        if self.mode != DiscoveryMode::Brief && has_brief {
            return Err(Rejection::new(
                Rule::BriefOutsideBriefMode,
                format!(
                    "`brief` must not be sent with buying_mode \"{}\"; drop `brief`, or use \
                     buying_mode \"brief\" for curated discovery.",
                    self.mode
                ),
                Some(BRIEF.to_owned()),
            ));
        }
        match refine {
            Some(entries) => check_finalize_exclusive(entries),
            None => Ok(()),
        }
    }

    fn check_signals(&self, present: &[&'static str], usable: bool) -> Result<(), Rejection> {
        match (self.mode, present.first()) {
            (DiscoveryMode::Wholesale, Some(selector)) => Err(Rejection::new(
                Rule::SignalsSelectorInWholesale,
                format!(
                    "`{selector}` must not be sent with discovery_mode \"wholesale\", which \
                     enumerates the whole signals feed; drop signal_spec, signal_refs and \
                     signal_ids, or use discovery_mode \"brief\"."
                ),
                Some((*selector).to_owned()),
            )),
            (DiscoveryMode::Wholesale, None) => Ok(()),
            _ if usable => Ok(()),
            _ => Err(Rejection::new(
                Rule::SignalsBriefWithoutSelector,
                "discovery_mode \"brief\" (the default) needs `signal_spec`, `signal_refs` or \
                 `signal_ids`; describe or name the signals wanted, or use discovery_mode \
                 \"wholesale\" to enumerate the feed.",
                Some(SIGNAL_SELECTORS[0].to_owned()),
            )),
        }
    }

    fn check_feed_versions(&self) -> Result<(), Rejection> {
        if self.feed_tokens.pricing_version && !self.feed_tokens.feed_version {
            return Err(Rejection::new(
                Rule::PricingVersionWithoutFeedVersion,
                "`if_pricing_version` is only meaningful together with \
                 `if_wholesale_feed_version`; send both tokens from the same earlier wholesale \
                 response, or neither.",
                Some(PRICING_VERSION.to_owned()),
            ));
        }
        if self.mode != DiscoveryMode::Wholesale {
            let field = if self.feed_tokens.feed_version {
                Some(FEED_VERSION)
            } else if self.feed_tokens.pricing_version {
                Some(PRICING_VERSION)
            } else {
                None
            };
            if let Some(field) = field {
                return Err(Rejection::new(
                    Rule::FeedVersionOutsideWholesale,
                    format!(
                        "`{field}` is only valid with {} \"wholesale\"; drop the feed version \
                         tokens for \"{}\" requests.",
                        self.verb.mode_field(),
                        self.mode
                    ),
                    Some(field.to_owned()),
                ));
            }
        }
        Ok(())
    }
}

fn read_mode(verb: DiscoveryVerb, root: &ObjectView<'_>) -> Result<DiscoveryMode, Rejection> {
    let field = verb.mode_field();
    let expected = match verb {
        DiscoveryVerb::GetProducts => "one of \"brief\", \"wholesale\", \"refine\"",
        DiscoveryVerb::GetSignals => "one of \"brief\", \"wholesale\"",
    };
    let Some(raw) = root.read::<&str>(field, expected)? else {
        return Ok(DiscoveryMode::Brief);
    };
    verb.modes()
        .iter()
        .copied()
        .find(|mode| mode.as_str() == raw)
        .ok_or_else(|| root.type_error(field, expected))
}

fn read_refine<'a>(
    root: &ObjectView<'a>,
    entries: &'a [Value],
) -> Result<Vec<RefineEntryView<'a>>, Rejection> {
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let path = format!("{}[{index}]", root.path_of(REFINE));
            let Value::Object(map) = entry else {
                return Err(Rejection::new(
                    Rule::MalformedField,
                    format!("`{path}` must be an object."),
                    Some(path),
                ));
            };
            let entry = ObjectView::new(map, path, Rule::MalformedField);
            Ok(RefineEntryView {
                scope: entry.string("scope")?,
                action: entry.string("action")?,
            })
        })
        .collect()
}

/// If any entry finalizes, every entry must be a proposal-scoped finalize: a finalize is a
/// commit, and mixing it with refinements (or finalizing a product) is an invalid request.
fn check_finalize_exclusive(entries: &[RefineEntryView<'_>]) -> Result<(), Rejection> {
    const FINALIZE: &str = "finalize";
    if !entries.iter().any(|entry| entry.action == Some(FINALIZE)) {
        return Ok(());
    }
    let offending = entries
        .iter()
        .position(|entry| entry.scope != Some("proposal") || entry.action != Some(FINALIZE));
    match offending {
        None => Ok(()),
        Some(index) => Err(Rejection::new(
            Rule::RefineFinalizeNotExclusive,
            format!(
                "`refine[{index}]` is not a proposal-scoped finalize, but another entry \
                 finalizes: when any entry has action \"finalize\", every entry must have scope \
                 \"proposal\" and action \"finalize\". Send the refinements first, then \
                 finalize in a separate call."
            ),
            Some(format!("refine[{index}]")),
        )),
    }
}
