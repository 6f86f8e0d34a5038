//! Numeric bounds of money and volume amounts: every amount is a finite, non-negative number,
//! and a buy's total stays finite, so a record the seller stores can always be reported again
//! (a total that overflows to infinity cannot be written as JSON).

use adcp_types::AdcpError;
use adcp_types::generated::{CreateMediaBuyRequest, PackageRequest};

/// Checks one amount and returns it: finite and not negative (the schemas give every budget,
/// bid and volume `"minimum": 0`). Fails with `INVALID_REQUEST` naming `field`.
pub fn check_amount(value: f64, field: &str) -> Result<f64, AdcpError> {
    if !value.is_finite() {
        return Err(
            AdcpError::invalid_request(format!("`{field}` must be a finite number"))
                .with_field(field.to_owned()),
        );
    }
    if value < 0.0 {
        return Err(
            AdcpError::invalid_request(format!("`{field}` must not be negative"))
                .with_field(field.to_owned()),
        );
    }
    Ok(value)
}

/// Sums `amounts`, each checked with [`check_amount`] under the name `field_of(i)`, and returns
/// the total. Fails with `INVALID_REQUEST` naming the first amount that is out of bounds, or the
/// one at which the running total stops being finite.
pub fn checked_sum(
    amounts: impl IntoIterator<Item = f64>,
    field_of: impl Fn(usize) -> String,
) -> Result<f64, AdcpError> {
    let mut total = 0.0_f64;
    for (index, amount) in amounts.into_iter().enumerate() {
        let field = field_of(index);
        total += check_amount(amount, &field)?;
        if !total.is_finite() {
            return Err(AdcpError::invalid_request(format!(
                "the total of the amounts overflows at `{field}`"
            ))
            .with_field(field));
        }
    }
    Ok(total)
}

/// Checks package `index`'s own amounts: `budget`, and `bid_price` and `impressions` when set.
/// Fails with `INVALID_REQUEST` naming `packages[{index}].…`.
pub fn check_package_amounts(package: &PackageRequest, index: usize) -> Result<(), AdcpError> {
    check_amount(package.budget, &format!("packages[{index}].budget"))?;
    if let Some(bid) = package.bid_price {
        check_amount(bid, &format!("packages[{index}].bid_price"))?;
    }
    if let Some(impressions) = package.impressions {
        check_amount(impressions, &format!("packages[{index}].impressions"))?;
    }
    Ok(())
}

/// Checks every amount of a `create_media_buy` and returns the sum of its package budgets (0
/// for a proposal-mode buy without packages).
///
/// Fails with `INVALID_REQUEST` naming the field: a package amount that is negative or not
/// finite, `total_budget.amount` likewise, or the package budget at which the buy's total
/// would overflow to infinity (two budgets of `1e308` are each valid and together are not).
pub fn check_media_buy_amounts(request: &CreateMediaBuyRequest) -> Result<f64, AdcpError> {
    let packages = request.packages.as_deref().unwrap_or_default();
    for (index, package) in packages.iter().enumerate() {
        check_package_amounts(package, index)?;
    }
    if let Some(total) = &request.total_budget {
        check_amount(total.amount, "total_budget.amount")?;
    }
    checked_sum(packages.iter().map(|p| p.budget), |index| {
        format!("packages[{index}].budget")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use adcp_types::codes;
    use serde_json::{Value, json};

    fn buy(packages: &Value) -> CreateMediaBuyRequest {
        serde_json::from_value(json!({
            "idempotency_key": "bounds-test-key-0001",
            "account": {"brand": {"domain": "acme.example"}, "operator": "agency.example"},
            "brand": {"domain": "acme.example"},
            "start_time": "2026-04-01T00:00:00Z",
            "end_time": "2026-06-30T00:00:00Z",
            "packages": packages
        }))
        .unwrap()
    }

    #[test]
    fn a_buys_total_is_the_sum_of_its_package_budgets() {
        let request = buy(&json!([
            {"product_id": "p", "pricing_option_id": "o", "budget": 1500.5},
            {"product_id": "p", "pricing_option_id": "o", "budget": 500, "bid_price": 2.5}
        ]));
        assert!((check_media_buy_amounts(&request).unwrap() - 2000.5).abs() < f64::EPSILON);
    }

    #[test]
    fn two_budgets_of_1e308_overflow_and_are_rejected_naming_the_second() {
        let request = buy(&json!([
            {"product_id": "p", "pricing_option_id": "o", "budget": 1e308},
            {"product_id": "p", "pricing_option_id": "o", "budget": 1e308}
        ]));
        let error = check_media_buy_amounts(&request).unwrap_err();
        assert_eq!(error.code, codes::INVALID_REQUEST);
        assert_eq!(error.field.as_deref(), Some("packages[1].budget"));
    }

    #[test]
    fn a_negative_budget_is_rejected_naming_its_package() {
        // error-compliance.yaml `negative_budget`: "field: packages[0].budget".
        let request = buy(&json!([{"product_id": "p", "pricing_option_id": "o", "budget": -500}]));
        let error = check_media_buy_amounts(&request).unwrap_err();
        assert_eq!(error.code, codes::INVALID_REQUEST);
        assert_eq!(error.field.as_deref(), Some("packages[0].budget"));
    }

    #[test]
    fn a_negative_bid_or_volume_is_rejected() {
        let request = buy(
            &json!([{"product_id": "p", "pricing_option_id": "o", "budget": 5, "bid_price": -1}]),
        );
        let error = check_media_buy_amounts(&request).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("packages[0].bid_price"));
        let request = buy(
            &json!([{"product_id": "p", "pricing_option_id": "o", "budget": 5, "impressions": -1}]),
        );
        let error = check_media_buy_amounts(&request).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("packages[0].impressions"));
    }

    #[test]
    fn amounts_that_are_not_finite_are_rejected() {
        for value in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            let error = check_amount(value, "packages[0].budget").unwrap_err();
            assert_eq!(error.field.as_deref(), Some("packages[0].budget"));
        }
        assert!(check_amount(0.0, "x").is_ok());
    }

    #[test]
    fn checked_sum_names_the_amount_where_the_total_overflows() {
        let error = checked_sum([1.0, f64::MAX, f64::MAX], |i| {
            format!("packages[{i}].budget")
        })
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("packages[2].budget"));
        assert!(checked_sum([], |i| i.to_string()).unwrap().abs() < f64::EPSILON);
    }

    #[test]
    fn a_negative_total_budget_is_rejected() {
        let mut request = buy(&json!([{"product_id": "p", "pricing_option_id": "o", "budget": 5}]));
        request.total_budget =
            Some(serde_json::from_value(json!({"amount": -1, "currency": "USD"})).unwrap());
        let error = check_media_buy_amounts(&request).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("total_budget.amount"));
    }
}
