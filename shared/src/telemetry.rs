//! Structured logs: JSON lines in Lambda (CloudWatch), readable text in a terminal.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What to log: `RUST_LOG` (`warn`, `hookhub_shared=debug,info`...), else Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`, else info. Target filters, not `EnvFilter`: its span and field
/// filters, unused here, link a regex engine whose tables every cold start relocates.
fn filter(env: impl Fn(&str) -> Option<String>) -> Targets {
    if let Some(targets) = env("RUST_LOG").and_then(|v| v.parse().ok()) {
        return targets;
    }
    let level = match env("AWS_LAMBDA_LOG_LEVEL") {
        // Lambda's FATAL is tracing's ERROR: tracing has nothing above it.
        Some(v) if v.eq_ignore_ascii_case("fatal") => LevelFilter::ERROR,
        Some(v) => v.parse().unwrap_or(LevelFilter::INFO),
        None => LevelFilter::INFO,
    };
    Targets::new().with_default(level)
}

pub fn init() {
    let filter = filter(|name| std::env::var(name).ok());
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let result = if in_lambda {
        let json = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_ansi(false)
            .without_time();
        tracing_subscriber::registry()
            .with(json)
            .with(filter)
            .try_init()
    } else {
        let text = tracing_subscriber::fmt::layer().with_target(false);
        tracing_subscriber::registry()
            .with(text)
            .with(filter)
            .try_init()
    };
    // A second init (tests, the local runner hosting several functions) keeps the first.
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn rust_log_wins_and_names_targets() {
        let f = filter(env(&[
            ("RUST_LOG", "warn,hookhub_shared=debug"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ]));
        assert!(f.would_enable("hookhub_shared::jobs", &Level::DEBUG));
        assert!(!f.would_enable("hyper", &Level::INFO));
        assert!(f.would_enable("hyper", &Level::WARN));
    }

    #[test]
    fn lambda_levels_apply_when_rust_log_is_unset() {
        let f = filter(env(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]));
        assert!(f.would_enable("delivery_worker", &Level::DEBUG));
        assert!(!f.would_enable("delivery_worker", &Level::TRACE));
        let f = filter(env(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]));
        assert!(f.would_enable("x", &Level::ERROR));
        assert!(!f.would_enable("x", &Level::WARN));
    }

    #[test]
    fn info_when_nothing_or_nonsense_is_set() {
        for f in [
            filter(env(&[])),
            filter(env(&[("AWS_LAMBDA_LOG_LEVEL", "loud")])),
        ] {
            assert!(f.would_enable("x", &Level::INFO));
            assert!(!f.would_enable("x", &Level::DEBUG));
        }
    }
}
