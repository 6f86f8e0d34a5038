//! The integration tests of `adcp-guards`, compiled as one test binary: one module per suite,
//! sharing the helpers (and the `cases!` table macro) in `common`.

// `common` first: `#[macro_use]` makes `cases!` visible to the modules declared after it.
#[macro_use]
mod common;

mod later_moments;
mod pre_dispatch_modes;
mod pre_dispatch_push;
mod properties;
