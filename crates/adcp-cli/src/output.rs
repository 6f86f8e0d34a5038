//! Printing: payloads and tables on standard output, progress, hints and errors on standard
//! error, colours only where the stream is a terminal and `NO_COLOR` is not set.

use std::io::Write as _;

use console::style;
use serde_json::Value;

/// Applies the colour policy: `console` already turns colours off for non-terminals and when
/// `NO_COLOR` is set; this also makes `NO_COLOR` win over `CLICOLOR_FORCE`.
pub(crate) fn init_colours() {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
}

/// Whether standard error is a terminal (live progress displays go there).
pub(crate) fn stderr_is_terminal() -> bool {
    console::Term::stderr().is_term()
}

/// `adcp: error: <message>` on standard error, one line.
pub(crate) fn error_line(message: &str) {
    note(&format!(
        "adcp: {} {}",
        style("error:").for_stderr().red().bold(),
        one_line(message)
    ));
}

/// `adcp: warning: <message>` on standard error, one line.
pub(crate) fn warn_line(message: &str) {
    note(&format!(
        "adcp: {} {}",
        style("warning:").for_stderr().yellow().bold(),
        one_line(message)
    ));
}

/// A hint on standard error (dimmed on a terminal).
pub(crate) fn hint_line(message: &str) {
    note(&style(message).for_stderr().dim().to_string());
}

/// `line` on standard error. Unlike `eprintln!`, a closed standard error (the reader went
/// away) is ignored rather than a panic.
pub(crate) fn note(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// `PASS` in green or `FAIL` in red, for standard output.
pub(crate) fn verdict_label(ok: bool) -> String {
    if ok {
        style("PASS").green().bold().to_string()
    } else {
        style("FAIL").red().bold().to_string()
    }
}

/// A bold heading for standard output.
pub(crate) fn heading(text: &str) -> String {
    style(text).bold().to_string()
}

/// A dimmed label for standard output.
pub(crate) fn dim(text: &str) -> String {
    style(text).dim().to_string()
}

/// Prints `value` on standard output: indented when `pretty`, else on one line (for pipes).
pub(crate) fn print_json(value: &Value, pretty: bool) {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    // Serializing a `Value` cannot fail (its keys are strings).
    let text = text.unwrap_or_default();
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`adcp … | head`) is not an error worth reporting.
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// Prints `text` on standard output as is, flushing (so a reader of a pipe sees it at once).
pub(crate) fn print_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// `message` on one line: line breaks become spaces, so every error stays one line.
pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_kept_to_one_line_and_cut() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
