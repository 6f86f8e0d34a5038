//! Hand-written constructors for generated types whose schema shape (an untagged union of
//! inline objects) gives them variants named `Variant0`, `Variant1`, ...: the common cases
//! read as what they mean. Everything here builds exactly the wire shape the schema defines.

use crate::generated::{
    Deployment, DeploymentVariant0Type, DeploymentVariant1Type, PropertyId, PropertyTag,
    PublisherPropertySelector, PublisherPropertySelectorVariant0SelectionType,
    PublisherPropertySelectorVariant1SelectionType, PublisherPropertySelectorVariant2SelectionType,
    SignalId, SignalIdVariant0Source, SignalIdVariant1Source,
};

impl PublisherPropertySelector {
    /// Every property of `publisher_domain` (`selection_type: "all"`).
    pub fn all(publisher_domain: impl Into<String>) -> Self {
        Self::Variant0 {
            publisher_domain: Some(publisher_domain.into()),
            publisher_domains: None,
            selection_type: PublisherPropertySelectorVariant0SelectionType::All,
            extra: serde_json::Map::new(),
        }
    }

    /// The listed properties of `publisher_domain` (`selection_type: "by_id"`).
    pub fn by_id<I: Into<String>>(
        publisher_domain: impl Into<String>,
        property_ids: impl IntoIterator<Item = I>,
    ) -> Self {
        Self::Variant1 {
            property_ids: property_ids
                .into_iter()
                .map(|id| PropertyId(id.into()))
                .collect(),
            publisher_domain: publisher_domain.into(),
            selection_type: PublisherPropertySelectorVariant1SelectionType::ById,
            extra: serde_json::Map::new(),
        }
    }

    /// The properties of `publisher_domain` carrying any of `property_tags`
    /// (`selection_type: "by_tag"`).
    pub fn by_tag<T: Into<String>>(
        publisher_domain: impl Into<String>,
        property_tags: impl IntoIterator<Item = T>,
    ) -> Self {
        Self::Variant2 {
            property_tags: property_tags
                .into_iter()
                .map(|tag| PropertyTag(tag.into()))
                .collect(),
            publisher_domain: Some(publisher_domain.into()),
            publisher_domains: None,
            selection_type: PublisherPropertySelectorVariant2SelectionType::ByTag,
            extra: serde_json::Map::new(),
        }
    }
}

impl Deployment {
    /// A signal deployed to a DSP or other platform by name (`type: "platform"`).
    pub fn platform(platform: impl Into<String>, is_live: bool) -> Self {
        Self::Variant0 {
            account: None,
            activation_key: None,
            deployed_at: None,
            estimated_activation_duration_minutes: None,
            is_live,
            platform: platform.into(),
            type_: DeploymentVariant0Type::Platform,
            extra: serde_json::Map::new(),
        }
    }

    /// A signal deployed to a sales agent by URL (`type: "agent"`).
    pub fn agent(agent_url: impl Into<String>, is_live: bool) -> Self {
        Self::Variant1 {
            account: None,
            activation_key: None,
            agent_url: agent_url.into(),
            deployed_at: None,
            estimated_activation_duration_minutes: None,
            is_live,
            type_: DeploymentVariant1Type::Agent,
            extra: serde_json::Map::new(),
        }
    }
}

impl SignalId {
    /// A signal from a data provider's published catalog (`source: "catalog"`), resolvable
    /// through the provider's `adagents.json`.
    pub fn catalog(data_provider_domain: impl Into<String>, id: impl Into<String>) -> Self {
        Self::Variant0 {
            data_provider_domain: data_provider_domain.into(),
            id: id.into(),
            source: SignalIdVariant0Source::Catalog,
            extra: serde_json::Map::new(),
        }
    }

    /// A signal native to the agent serving it (`source: "agent"`).
    pub fn agent(agent_url: impl Into<String>, id: impl Into<String>) -> Self {
        Self::Variant1 {
            agent_url: agent_url.into(),
            id: id.into(),
            source: SignalIdVariant1Source::Agent,
            extra: serde_json::Map::new(),
        }
    }
}
