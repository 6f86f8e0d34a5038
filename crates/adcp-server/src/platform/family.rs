//! How the optional specialism traits are declared: one table per family (tool, method,
//! request, response, whether it may hand off) expands to the tool enum, the trait with a
//! default method per tool, and the erased handlers the builder registers.
//!
//! A `task` tool is one whose name is a protocol task type (`enums/task-type.json`): its
//! method returns [`TaskResult`](super::TaskResult) and may hand off, and a registered push
//! config then gets exactly one terminal webhook. A `sync` tool answers in the call (and
//! `CallContext::push_completion` is ignored for it: there is no task type to push).

use std::sync::Arc;

use crate::dispatch::handler::ErasedTool;

/// The erased handlers of one platform, by wire tool name.
pub(crate) type FamilyTools = Vec<(&'static str, Arc<dyn ErasedTool>)>;

/// The return type of a family method.
macro_rules! family_return {
    (task, $resp:ty) => { $crate::platform::TaskResult<$resp> };
    (sync, $resp:ty) => { $resp };
}

/// The erased handler of a family method.
macro_rules! family_handler {
    (task, $platform:expr, $method:ident) => {{
        let platform = ::std::sync::Arc::clone($platform);
        $crate::dispatch::handler::Typed::erased(move |request, ctx| {
            let platform = ::std::sync::Arc::clone(&platform);
            Box::pin(async move { platform.$method(request, &ctx).await })
        })
    }};
    (sync, $platform:expr, $method:ident) => {{
        let platform = ::std::sync::Arc::clone($platform);
        $crate::dispatch::handler::Typed::erased(move |request, ctx| {
            let platform = ::std::sync::Arc::clone(&platform);
            Box::pin(async move {
                platform
                    .$method(request, &ctx)
                    .await
                    .map($crate::platform::Outcome::Completed)
            })
        })
    }};
}

/// Declares one specialism family: `$Tool` (the tools it can serve), `$Trait` (what the
/// adopter implements: `tools()` plus one defaulted method per tool) and `$handlers` (the
/// erased handlers of the listed tools).
macro_rules! platform_family {
    (
        $(#[$trait_doc:meta])*
        trait $Trait:ident;
        $(#[$tool_doc:meta])*
        enum $Tool:ident;
        fn $handlers:ident;
        $(
            $(#[$doc:meta])*
            $kind:ident $Variant:ident => $method:ident($Req:ty) -> $Resp:ty;
        )+
    ) => {
        $(#[$tool_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $Tool {
            $(
                #[doc = concat!("`", stringify!($method), "`.")]
                $Variant,
            )+
        }

        impl $Tool {
            /// Every tool of this family.
            pub const ALL: &'static [Self] = &[$(Self::$Variant),+];

            /// The wire tool name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$Variant => stringify!($method),)+
                }
            }
        }

        $(#[$trait_doc])*
        ///
        /// List the tools you implement in `tools()`; only those are served. A listed tool whose
        /// method is not overridden answers `UNSUPPORTED_FEATURE`.
        #[::async_trait::async_trait]
        pub trait $Trait: Send + Sync + 'static {
            /// The tools this platform serves.
            fn tools(&self) -> Vec<$Tool>;

            $(
                $(#[$doc])*
                async fn $method(
                    &self,
                    request: $Req,
                    ctx: &$crate::call::CallContext,
                ) -> Result<$crate::platform::family::family_return!($kind, $Resp), ::adcp_types::AdcpError> {
                    let _ = (request, ctx);
                    Err($crate::platform::not_implemented(stringify!($method)))
                }
            )+
        }

        /// The erased handlers of the tools `platform` lists (each once).
        pub(crate) fn $handlers(
            platform: ::std::sync::Arc<dyn $Trait>,
        ) -> $crate::platform::family::FamilyTools {
            let mut listed = platform.tools();
            listed.sort();
            listed.dedup();
            listed
                .into_iter()
                .map(|tool| {
                    let handler: ::std::sync::Arc<dyn $crate::dispatch::handler::ErasedTool> =
                        match tool {
                            $($Tool::$Variant => $crate::platform::family::family_handler!($kind, &platform, $method),)+
                        };
                    (tool.name(), handler)
                })
                .collect()
        }
    };
}

pub(crate) use {family_handler, family_return, platform_family};
