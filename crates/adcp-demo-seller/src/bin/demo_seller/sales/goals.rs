//! The demo's check of a package's metric optimization goals against what its product
//! supports.

use adcp_types::AdcpError;
use adcp_types::generated::{OptimizationGoal, Product, ReachUnit};
use serde_json::Value;

/// The reach units a product supports for optimization when it declares none.
const DEFAULT_REACH_UNITS: [ReachUnit; 2] = [ReachUnit::Individuals, ReachUnit::Households];
/// The view durations (seconds) a product supports for optimization when it declares none.
const DEFAULT_VIEW_DURATIONS: [f64; 4] = [2.0, 6.0, 15.0, 30.0];

/// Checks package `i`'s metric optimization goals against what `product` supports (its
/// `metric_optimization`, else the demo's defaults): an unsupported `reach_unit` or
/// `view_duration_seconds` is `INVALID_REQUEST` naming that goal's field. Returns the reach
/// unit of the package's reach goal, if any.
pub(crate) fn check(
    goals: &[OptimizationGoal],
    product: &Product,
    i: usize,
) -> Result<Option<ReachUnit>, AdcpError> {
    let declared = product.metric_optimization.as_ref();
    let unsupported = |j: usize, field: &str, value: Value| {
        AdcpError::invalid_request(format!(
            "product `{}` does not support `{field}` {value} for optimization",
            product.product_id
        ))
        .with_field(format!("packages[{i}].optimization_goals[{j}].{field}"))
    };
    let mut reach_unit = None;
    for (j, goal) in goals.iter().enumerate() {
        // Only metric goals carry a reach unit or a view duration.
        let OptimizationGoal::Variant0 {
            reach_unit: unit,
            view_duration_seconds: seconds,
            ..
        } = goal
        else {
            continue;
        };
        if let Some(unit) = unit {
            let supported = match declared.and_then(|m| m.supported_reach_units.as_ref()) {
                Some(units) => units.contains(unit),
                None => DEFAULT_REACH_UNITS.contains(unit),
            };
            if !supported {
                return Err(unsupported(j, "reach_unit", Value::from(unit.to_string())));
            }
            reach_unit.get_or_insert(*unit);
        }
        if let Some(seconds) = *seconds {
            let supported = match declared.and_then(|m| m.supported_view_durations.as_ref()) {
                Some(durations) => durations.contains(&seconds),
                None => DEFAULT_VIEW_DURATIONS.contains(&seconds),
            };
            if !supported {
                return Err(unsupported(
                    j,
                    "view_duration_seconds",
                    Value::from(seconds),
                ));
            }
        }
    }
    Ok(reach_unit)
}
