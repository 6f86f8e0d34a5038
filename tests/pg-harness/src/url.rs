//! Swapping the database name in a `postgres://` URL, keeping its user, host and query.

/// `url` with its database path replaced by `database`; `None` when `url` has no `scheme://`.
pub(crate) fn with_database(url: &str, database: &str) -> Option<String> {
    let scheme_end = url.find("://")? + 3;
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    Some(format!("{}/{database}{query}", &base[..authority_end]))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_and_keeps_the_query() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5432/postgres?sslmode=disable", "t1").unwrap(),
            "postgres://u@127.0.0.1:5432/t1?sslmode=disable"
        );
    }

    #[test]
    fn adds_a_database_when_the_url_has_none() {
        assert_eq!(
            with_database("postgres://u@h", "t2").unwrap(),
            "postgres://u@h/t2"
        );
        assert_eq!(
            with_database("postgres://u@h?x=1", "t3").unwrap(),
            "postgres://u@h/t3?x=1"
        );
    }

    #[test]
    fn rejects_a_url_without_scheme() {
        assert!(with_database("localhost/db", "t").is_none());
    }
}
