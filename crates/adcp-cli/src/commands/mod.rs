//! One module per command; [`run`] dispatches the parsed command line.

pub(crate) mod assess;
pub(crate) mod call;
pub(crate) mod capabilities;
pub(crate) mod demo;
pub(crate) mod grade;
pub(crate) mod keys;
pub(crate) mod storyboard;
pub(crate) mod tools;
pub(crate) mod validate;
pub(crate) mod wait;
pub(crate) mod webhook_listen;

use crate::cli::{Command, KeysCommand, StoryboardCommand, WebhookCommand};
use crate::error::{CliError, Outcome};

/// Runs `command` to its end.
pub(crate) async fn run(command: Command) -> Result<Outcome, CliError> {
    match command {
        Command::Tools(args) => tools::run(&args).await,
        Command::Call(args) => call::run(&args).await,
        Command::Capabilities(args) => capabilities::run(&args).await,
        Command::Assess(args) => assess::run(&args).await,
        Command::Storyboard(StoryboardCommand::Run(args)) => storyboard::run(&args).await,
        Command::Validate(args) => validate::run(&args),
        Command::Webhook(WebhookCommand::Listen(args)) => webhook_listen::run(&args).await,
        Command::Keys(KeysCommand::Generate(args)) => keys::run(&args),
        Command::Demo(args) => demo::run(&args),
    }
}
