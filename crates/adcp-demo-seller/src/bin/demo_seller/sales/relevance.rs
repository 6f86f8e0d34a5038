//! Ranking of brief discovery: products that share more of the brief's words come first, a word
//! in the product's name counting twice one in its description, id or channels (a title match
//! says more than a passing mention). The rank is a stable sort, so products the brief scores
//! alike keep the catalog's deterministic order.

use std::collections::BTreeSet;

use adcp_types::generated::Product;

/// Words that say nothing about inventory.
const STOPWORDS: [&str; 16] = [
    "the", "and", "for", "with", "our", "your", "from", "that", "this", "into", "across", "want",
    "need", "looking", "buy", "buyer",
];

/// The distinct words of `text`: lower-cased alphanumeric runs of three or more characters,
/// stop words left out.
fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_lowercase)
        .filter(|w| w.len() >= 3 && !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// How well `product` matches the brief's words: two per word in its name, one per other word
/// in its description, id or channels.
fn score(product: &Product, brief: &BTreeSet<String>) -> usize {
    let channels: Vec<String> = product
        .channels
        .iter()
        .flatten()
        .map(ToString::to_string)
        .collect();
    let named: BTreeSet<String> = words(&product.name).intersection(brief).cloned().collect();
    let other = format!(
        "{} {} {}",
        product.description,
        product.product_id,
        channels.join(" ")
    );
    let mentioned = words(&other)
        .intersection(brief)
        .filter(|w| !named.contains(*w))
        .count();
    2 * named.len() + mentioned
}

/// `products` ranked by how well they match `brief`, best first; ties keep their order.
pub(crate) fn rank(mut products: Vec<Product>, brief: &str) -> Vec<Product> {
    let brief = words(brief);
    if brief.is_empty() {
        return products;
    }
    products.sort_by_cached_key(|product| std::cmp::Reverse(score(product, &brief)));
    products
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(id: &str, name: &str, description: &str) -> Product {
        serde_json::from_value(json!({
            "product_id": id, "name": name, "description": description,
            "publisher_properties": [], "delivery_type": "non_guaranteed",
            "format_ids": [], "pricing_options": [],
            "reporting_capabilities": {"available_metrics": [],
                "available_reporting_frequencies": ["daily"], "date_range_support": "date_range",
                "expected_delay_minutes": 60, "supports_webhooks": false, "timezone": "UTC"}
        }))
        .unwrap()
    }

    #[test]
    fn the_best_match_leads_and_ties_keep_their_order() {
        let ranked = rank(
            vec![
                product("a", "Sports display", "Banners."),
                product("b", "Lifestyle display", "Outdoor lifestyle banners."),
                product("c", "Trail display", "Banners."),
                product("d", "Actions package", "Display inventory fixture."),
            ],
            "Display inventory on outdoor lifestyle content.",
        );
        let ids: Vec<&str> = ranked.iter().map(|p| p.product_id.as_str()).collect();
        // b: lifestyle and display named, outdoor mentioned; a and c: display named; d: two
        // mentions.
        assert_eq!(ids, ["b", "a", "c", "d"]);
    }

    #[test]
    fn a_brief_without_words_leaves_the_order() {
        let ranked = rank(
            vec![product("a", "A", "x"), product("b", "B", "y")],
            "Q3 $5",
        );
        assert_eq!(ranked[0].product_id, "a");
    }
}
