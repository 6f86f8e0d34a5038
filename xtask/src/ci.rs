//! placeholder
use anyhow::Result;
pub(crate) fn run() -> Result<()> { Ok(()) }
pub(crate) fn demo(_a: &[String]) -> Result<()> { Ok(()) }
pub(crate) fn bench(_a: &[String]) -> Result<()> { Ok(()) }
