//! Account-level notification subscribers (`sync_accounts.accounts[].notification_configs[]`):
//! what rc.9 requires a seller to check before it persists them.
//!
//! The demo persists paused subscribers (`active: false`) and echoes them; it does not run the
//! account-level proof-of-control challenge, so it cannot activate a subscriber and rejects an
//! active one the way rc.9 says a failed proof is rejected (`VALIDATION_ERROR` at the entry's
//! `url`, prior set unchanged). It fires no account-level notifications.

use std::collections::BTreeSet;

use adcp_types::generated::{NotificationConfig, NotificationType};
use adcp_types::{AdcpError, codes};
use adcp_webhooks::ssrf::{SsrfError, SsrfPolicy};

/// The event types whose contract anchors at a media buy or below: rc.9 forbids them on the
/// account-level surface (`core/notification-config.json` `event_types`).
const MEDIA_BUY_ANCHORED: [NotificationType; 5] = [
    NotificationType::Scheduled,
    NotificationType::Final,
    NotificationType::Delayed,
    NotificationType::Adjusted,
    NotificationType::Impairment,
];

/// A request's notification config as the account-level `NotificationConfig`: both
/// `sync_accounts` entry shapes carry the same fields under their own generated type.
macro_rules! notification_config {
    ($item:expr) => {{
        let item = $item;
        ::adcp_types::generated::NotificationConfig {
            active: item.active,
            authentication: item.authentication.map(|auth| {
                ::adcp_types::generated::NotificationConfigAuthentication {
                    credentials: auth.credentials,
                    schemes: auth.schemes,
                }
            }),
            event_types: item.event_types,
            ext: item.ext,
            subscriber_id: item.subscriber_id,
            url: item.url,
        }
    }};
}
pub(crate) use notification_config;

/// Checks the submitted array (rc.9's declarative-replace input) and returns it as the seller
/// persists it, URLs normalised. Errors name the failing entry relative to the account entry,
/// e.g. `notification_configs[1].subscriber_id`.
pub(crate) fn check(
    configs: Vec<NotificationConfig>,
) -> Result<Vec<NotificationConfig>, AdcpError> {
    let mut seen = BTreeSet::new();
    let mut accepted = Vec::with_capacity(configs.len());
    for (j, mut config) in configs.into_iter().enumerate() {
        let at = |field: &str| format!("notification_configs[{j}].{field}");
        if !seen.insert(config.subscriber_id.clone()) {
            return Err(AdcpError::new(
                codes::VALIDATION_ERROR,
                format!(
                    "subscriber_id `{}` appears twice; it must be unique within the account",
                    config.subscriber_id
                ),
            )
            .with_field(at("subscriber_id")));
        }
        if let Some(k) = config
            .event_types
            .iter()
            .position(|t| MEDIA_BUY_ANCHORED.contains(t))
        {
            return Err(AdcpError::new(
                codes::VALIDATION_ERROR,
                format!(
                    "`{}` is a media-buy notification; account-level subscribers take creative \
                     lifecycle and wholesale feed events only",
                    config.event_types[k]
                ),
            )
            .with_field(format!("notification_configs[{j}].event_types[{k}]")));
        }
        config.url = checked_url(&config.url).map_err(|error| error.with_field(at("url")))?;
        if config.active.unwrap_or(true) {
            return Err(AdcpError::new(
                codes::VALIDATION_ERROR,
                "this seller does not run the account-level proof-of-control challenge, so it \
                 cannot activate a subscriber; register it with `active: false`",
            )
            .with_field(at("url")));
        }
        accepted.push(config);
    }
    Ok(accepted)
}

/// The URL as persisted: parsed and normalised (lower-case host), HTTPS, and not aimed at a
/// reserved address or a local host name — rc.9 requires these write-time checks even for a
/// paused subscriber. A URL that does not parse is `INVALID_REQUEST`, a refused destination
/// `VALIDATION_ERROR`.
fn checked_url(url: &str) -> Result<String, AdcpError> {
    let parsed = SsrfPolicy::strict()
        .check_url(url)
        .map_err(|error| match error {
            SsrfError::MalformedUrl => {
                AdcpError::invalid_request("the webhook URL is malformed or carries userinfo")
            }
            other => AdcpError::new(
                codes::VALIDATION_ERROR,
                format!("{other}: use a public HTTPS URL"),
            ),
        })?;
    // The host is lower-case once parsed; its last label decides (`localhost`, `*.localhost`,
    // `*.local`).
    let local = parsed.host_str().is_some_and(|host| {
        matches!(
            host.trim_end_matches('.').rsplit('.').next(),
            Some("localhost" | "local")
        )
    });
    if local {
        return Err(AdcpError::new(
            codes::VALIDATION_ERROR,
            "webhook destination is a local host name: use a public HTTPS URL",
        ));
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use adcp_types::codes;
    use adcp_types::generated::NotificationConfig;
    use serde_json::json;

    use super::check;

    fn config(id: &str, url: &str, events: &[&str], active: bool) -> NotificationConfig {
        serde_json::from_value(json!({
            "subscriber_id": id,
            "url": url,
            "event_types": events,
            "active": active,
        }))
        .unwrap()
    }

    #[test]
    fn paused_subscribers_are_kept_in_order() {
        let kept = check(vec![
            config(
                "buyer-primary",
                "https://Example.com/hooks/a",
                &["creative.status_changed"],
                false,
            ),
            config(
                "audit",
                "https://example.com/hooks/b",
                &["creative.purged"],
                false,
            ),
        ])
        .unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].url, "https://example.com/hooks/a");
        assert_eq!(kept[1].subscriber_id, "audit");
        assert!(check(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn a_duplicate_subscriber_points_at_the_duplicate() {
        let error = check(vec![
            config(
                "buyer-primary",
                "https://example.com/a",
                &["creative.status_changed"],
                false,
            ),
            config(
                "buyer-primary",
                "https://example.com/b",
                &["creative.purged"],
                false,
            ),
        ])
        .unwrap_err();
        assert_eq!(error.code, codes::VALIDATION_ERROR);
        assert_eq!(
            error.field.as_deref(),
            Some("notification_configs[1].subscriber_id")
        );
    }

    #[test]
    fn media_buy_events_are_refused_at_the_event() {
        let error = check(vec![config(
            "reports",
            "https://example.com/a",
            &["creative.purged", "scheduled"],
            false,
        )])
        .unwrap_err();
        assert_eq!(error.code, codes::VALIDATION_ERROR);
        assert_eq!(
            error.field.as_deref(),
            Some("notification_configs[0].event_types[1]")
        );
    }

    #[test]
    fn unsafe_urls_and_unproven_active_subscribers_are_refused() {
        for url in [
            "http://example.com/a",
            "https://127.0.0.1/a",
            "https://10.0.0.1/a",
            "https://localhost/a",
        ] {
            let error = check(vec![config("s", url, &["creative.purged"], false)]).unwrap_err();
            assert_eq!(error.code, codes::VALIDATION_ERROR, "{url}");
            assert_eq!(error.field.as_deref(), Some("notification_configs[0].url"));
        }
        let malformed = check(vec![config("s", "not a url", &["creative.purged"], false)]);
        assert_eq!(malformed.unwrap_err().code, codes::INVALID_REQUEST);
        let active = check(vec![config(
            "s",
            "https://example.com/a",
            &["creative.purged"],
            true,
        )])
        .unwrap_err();
        assert_eq!(active.code, codes::VALIDATION_ERROR);
        assert_eq!(active.field.as_deref(), Some("notification_configs[0].url"));
    }
}
