//! The creative formats the demo accepts: exactly the formats its products name in
//! `format_ids` (house and seeded), plus the formats the test controller seeds
//! (`seed_creative_format`), each defined from its id; and `list_creative_formats` over them.
//!
//! A format is defined from its id, which for the demo's formats follows the common naming:
//! `display_<w>x<h>` (an image, rendered at that size), `video_<n>s` (a hosted video of that
//! length), `audio_<n>s`, `native_*` (headline and image) and anything else a generic format
//! with no required asset. A seeded format's fixture may name and describe it.

use adcp_types::AdcpError;
use adcp_types::generated::{
    AssetContentType, Format, FormatId, MediaBuyListCreativeFormatsRequest,
    MediaBuyListCreativeFormatsResponse,
};
use serde_json::{Map, Value, json};

use super::paging::Page;
use crate::catalog::{Catalog, FORMAT_AGENT, same_format};
use crate::reply::built;

/// What a format's id says about it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Display { width: u64, height: u64 },
    Video { seconds: Option<u64> },
    Audio { seconds: Option<u64> },
    Native,
    Generic,
}

/// The `<w>x<h>` size an id names, if any.
fn size_in(id: &str) -> Option<(u64, u64)> {
    id.split(['_', '-']).find_map(|part| {
        let (w, h) = part.split_once('x')?;
        Some((w.parse().ok()?, h.parse().ok()?)).filter(|&(w, h)| w > 0 && h > 0)
    })
}

/// The `<n>s` length an id names, if any.
fn seconds_in(id: &str) -> Option<u64> {
    id.split(['_', '-'])
        .find_map(|part| part.strip_suffix('s')?.parse().ok())
}

fn kind_of(id: &str) -> Kind {
    let lower = id.to_ascii_lowercase();
    if lower.contains("video") || lower.contains("preroll") {
        Kind::Video {
            seconds: seconds_in(&lower),
        }
    } else if lower.contains("audio") {
        Kind::Audio {
            seconds: seconds_in(&lower),
        }
    } else if lower.contains("native") {
        Kind::Native
    } else if let Some((width, height)) = size_in(&lower) {
        Kind::Display { width, height }
    } else {
        Kind::Generic
    }
}

/// An individual asset slot of a format.
fn slot(asset_id: &str, asset_type: &str, required: bool) -> Value {
    json!({
        "item_type": "individual",
        "asset_id": asset_id,
        "asset_type": asset_type,
        "required": required
    })
}

/// The full definition of `format_id`, with a seeded format's `fixture` (its `name`,
/// `description`, `assets` and `renders`) over the definition its id implies.
fn definition(
    format_id: &FormatId,
    fixture: Option<&Map<String, Value>>,
) -> Result<Format, AdcpError> {
    let id = &format_id.id;
    let click = slot("click_url", "url", false);
    let (name, description, assets, renders) = match kind_of(id) {
        Kind::Display { width, height } => (
            format!("Display {width}x{height}"),
            format!("A static image banner, {width}x{height} pixels."),
            vec![slot("image", "image", true), click],
            json!([{ "role": "primary", "dimensions": { "width": width, "height": height } }]),
        ),
        Kind::Video { seconds } => (
            seconds.map_or_else(|| "Video".to_owned(), |s| format!("Video {s}s")),
            "A hosted video spot, 16:9.".to_owned(),
            vec![slot("video", "video", true), click],
            json!([{ "role": "primary", "dimensions": { "aspect_ratio": "16:9" } }]),
        ),
        Kind::Audio { seconds } => (
            seconds.map_or_else(|| "Audio".to_owned(), |s| format!("Audio {s}s")),
            "A hosted audio spot.".to_owned(),
            vec![slot("audio", "audio", true), click],
            Value::Null,
        ),
        Kind::Native => (
            "Native".to_owned(),
            "A native placement: headline and image in the publisher's style.".to_owned(),
            vec![
                slot("headline", "text", true),
                slot("image", "image", true),
                slot("body", "text", false),
                click,
            ],
            Value::Null,
        ),
        Kind::Generic => (
            id.replace(['_', '-'], " "),
            format!("Creative format {id}."),
            Vec::new(),
            Value::Null,
        ),
    };
    let mut format = json!({
        "format_id": format_id,
        "name": name,
        "description": description,
        "assets": assets,
    });
    if !renders.is_null() {
        format["renders"] = renders;
    }
    for key in ["name", "description", "assets", "renders"] {
        if let Some(value) = fixture.and_then(|f| f.get(key)) {
            format[key] = value.clone();
        }
    }
    serde_json::from_value(format).map_err(|error| {
        tracing::error!(%error, format = %id, "a format definition is not a valid format");
        AdcpError::internal()
    })
}

/// A format id the demo defines under its own format agent.
fn own_format_id(id: &str) -> FormatId {
    FormatId {
        agent_url: FORMAT_AGENT.to_owned(),
        duration_ms: None,
        height: None,
        id: id.to_owned(),
        width: None,
        extra: Map::new(),
    }
}

/// Whether a `seed_creative_format` fixture makes a valid format definition; the controller
/// refuses one that does not (`INVALID_PARAMS`) instead of storing it.
pub(crate) fn check_seeded(format_id: &str, fixture: &Map<String, Value>) -> Result<(), String> {
    definition(&own_format_id(format_id), Some(fixture))
        .map(|_| ())
        .map_err(|error| {
            format!(
                "format `{format_id}` does not make a valid format: {}",
                error.message
            )
        })
}

/// Every format the demo accepts: its products' formats in catalog order, then the seeded
/// ones it does not already list.
pub(crate) fn seller_formats(catalog: &Catalog) -> Result<Vec<Format>, AdcpError> {
    let mut formats = catalog
        .format_ids()
        .iter()
        .map(|format_id| definition(format_id, None))
        .collect::<Result<Vec<_>, _>>()?;
    for (id, fixture) in catalog.seeded_formats() {
        let format_id = own_format_id(&id);
        // The controller stores only fixtures that passed `check_seeded`; one that still fails
        // is left out rather than failing every caller's format list.
        let Ok(seeded) = definition(&format_id, Some(&fixture)) else {
            continue;
        };
        if let Some(existing) = formats
            .iter_mut()
            .find(|f| same_format(&f.format_id, &format_id))
        {
            *existing = seeded;
        } else {
            formats.push(seeded);
        }
    }
    Ok(formats)
}

/// A buyer's format id resolved to one of the demo's formats.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The demo's format.
    pub(crate) format: Format,
    /// The buyer named another agent than the one defining the format (see [`resolve`]).
    pub(crate) agent_mismatch: bool,
}

/// Resolves `requested` to one of the demo's formats: the same agent and id, else the same id
/// under another agent URL. The second is a documented leniency: the rc.9 storyboards write a
/// seller's own formats as `{agent_url: "https://your-platform.example.com", id: ...}`
/// (`per_creative_conversion_attribution`, `creative_fate_after_cancellation`,
/// `deterministic-testing`) and expect the creative accepted, so the format id alone decides
/// and the caller is told with a warning. `None` when the demo has no format of that id.
pub(crate) fn resolve(
    catalog: &Catalog,
    requested: &FormatId,
) -> Result<Option<Resolved>, AdcpError> {
    let formats = seller_formats(catalog)?;
    if let Some(format) = formats
        .iter()
        .find(|f| same_format(&f.format_id, requested))
    {
        return Ok(Some(Resolved {
            format: format.clone(),
            agent_mismatch: false,
        }));
    }
    Ok(formats
        .into_iter()
        .find(|f| f.format_id.id == requested.id)
        .map(|format| Resolved {
            format,
            agent_mismatch: true,
        }))
}

/// The asset ids a creative in `format` must provide.
pub(crate) fn required_assets(format: &Format) -> Vec<String> {
    let Ok(Value::Array(assets)) = serde_json::to_value(&format.assets) else {
        return Vec::new();
    };
    assets
        .iter()
        .filter(|slot| slot.get("required").and_then(Value::as_bool) == Some(true))
        .filter_map(|slot| slot.get("asset_id").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The asset types and render sizes of `format`, read from its JSON form.
fn shape_of(format: &Format) -> (Vec<String>, Vec<(f64, f64)>) {
    let json = serde_json::to_value(format).unwrap_or(Value::Null);
    let types = json["assets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|slot| slot.get("asset_type").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let sizes = json["renders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|render| {
            let dimensions = render.get("dimensions")?;
            Some((
                dimensions.get("width")?.as_f64()?,
                dimensions.get("height")?.as_f64()?,
            ))
        })
        .collect();
    (types, sizes)
}

/// Whether `format` passes the request's filters. Applied: `format_ids` (agent and id),
/// `name_search` (case-insensitive substring), `asset_types` (every listed type present),
/// `min_width` / `max_width` / `min_height` / `max_height` (any render fits) and
/// `is_responsive` (a responsive format has no fixed-size render). The rest
/// (`disclosure_*`, `wcag_level`, `input_format_ids`, `output_format_ids`, `property_id`,
/// `publisher_domain`) describe properties the demo's formats do not declare, so a format
/// cannot be shown to match them and they select nothing further.
fn matches(format: &Format, request: &MediaBuyListCreativeFormatsRequest) -> bool {
    if let Some(ids) = &request.format_ids
        && !ids.iter().any(|id| same_format(id, &format.format_id))
    {
        return false;
    }
    if let Some(search) = &request.name_search
        && !format.name.to_lowercase().contains(&search.to_lowercase())
    {
        return false;
    }
    let (types, sizes) = shape_of(format);
    if let Some(wanted) = &request.asset_types
        && !wanted.iter().all(|t| asset_type_present(*t, &types))
    {
        return false;
    }
    #[allow(clippy::cast_precision_loss)]
    let fits = |(w, h): (f64, f64)| {
        request.min_width.is_none_or(|m| w >= m as f64)
            && request.max_width.is_none_or(|m| w <= m as f64)
            && request.min_height.is_none_or(|m| h >= m as f64)
            && request.max_height.is_none_or(|m| h <= m as f64)
    };
    let size_filtered = request.min_width.is_some()
        || request.max_width.is_some()
        || request.min_height.is_some()
        || request.max_height.is_some();
    if size_filtered && !sizes.iter().copied().any(fits) {
        return false;
    }
    if let Some(responsive) = request.is_responsive
        && responsive != sizes.is_empty()
    {
        return false;
    }
    true
}

fn asset_type_present(wanted: AssetContentType, present: &[String]) -> bool {
    present.iter().any(|t| *t == wanted.to_string())
}

/// `list_creative_formats`: the demo's formats that pass the filters, paged.
pub(crate) fn list(
    catalog: &Catalog,
    request: &MediaBuyListCreativeFormatsRequest,
) -> Result<MediaBuyListCreativeFormatsResponse, AdcpError> {
    let query = serde_json::to_value(request).unwrap_or(Value::Null);
    let page = Page::read(request.pagination.as_ref(), &query)?;
    let matching: Vec<Format> = seller_formats(catalog)?
        .into_iter()
        .filter(|format| matches(format, request))
        .collect();
    let (formats, pagination) = page.cut(matching);
    let mut reply = built(
        MediaBuyListCreativeFormatsResponse::builder()
            .formats(formats)
            .build(),
    )?;
    reply.pagination = Some(pagination);
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_format_must_make_a_valid_definition() {
        let bad: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"assets": "x"})).unwrap();
        assert!(check_seeded("display_300x250", &bad).is_err());
        assert!(check_seeded("display_728x90", &Map::new()).is_ok());
        // A bad fixture that reached the catalog anyway is left out, not an error for everyone.
        let catalog = Catalog::new().unwrap();
        let before = seller_formats(&catalog).unwrap().len();
        catalog.seed_format("display_300x250", &bad);
        assert_eq!(seller_formats(&catalog).unwrap().len(), before);
    }

    #[test]
    fn ids_define_their_formats() {
        assert_eq!(
            kind_of("display_300x250"),
            Kind::Display {
                width: 300,
                height: 250
            }
        );
        assert_eq!(kind_of("video_15s"), Kind::Video { seconds: Some(15) });
        assert_eq!(kind_of("native_standard"), Kind::Native);
        assert_eq!(kind_of("display_static"), Kind::Generic);
    }

    #[test]
    fn definitions_are_valid_formats_with_their_required_assets() {
        let display = definition(&own_format_id("display_300x250"), None).unwrap();
        assert_eq!(required_assets(&display), ["image"]);
        assert_eq!(shape_of(&display).1, [(300.0, 250.0)]);
        let native = definition(&own_format_id("native_standard"), None).unwrap();
        assert_eq!(required_assets(&native), ["headline", "image"]);
        let mut fixture = Map::new();
        fixture.insert("name".into(), json!("Pagination Integrity Format A"));
        let seeded = definition(
            &own_format_id("pagination_integrity_format_1"),
            Some(&fixture),
        )
        .unwrap();
        assert_eq!(seeded.name, "Pagination Integrity Format A");
        assert!(required_assets(&seeded).is_empty());
    }
}
