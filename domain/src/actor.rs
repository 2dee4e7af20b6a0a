//! Actors: the organisations of the registry, their profile rules and their place in the
//! multilevel hierarchy (a municipality lies in a region, a region in a larger region or under
//! a national authority).

use chrono::{DateTime, Utc};

use crate::ValidationError;
use crate::identifiers::{Email, Pic, VatNumber, Website, WikidataId};
use crate::ids::ActorId;
use crate::territory::{CountryCode, LauUnit, NutsRegion};

/// What kind of organisation an actor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActorKind {
    Municipality,
    Region,
    NationalAuthority,
    Ngo,
    CommunityGroup,
    Network,
    EuInstitution,
    InternationalOrganisation,
}

impl ActorKind {
    pub const ALL: [Self; 8] = [
        Self::Municipality,
        Self::Region,
        Self::NationalAuthority,
        Self::Ngo,
        Self::CommunityGroup,
        Self::Network,
        Self::EuInstitution,
        Self::InternationalOrganisation,
    ];

    /// The stable name used in storage and in the API.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Municipality => "MUNICIPALITY",
            Self::Region => "REGION",
            Self::NationalAuthority => "NATIONAL_AUTHORITY",
            Self::Ngo => "NGO",
            Self::CommunityGroup => "COMMUNITY_GROUP",
            Self::Network => "NETWORK",
            Self::EuInstitution => "EU_INSTITUTION",
            Self::InternationalOrganisation => "INTERNATIONAL_ORGANISATION",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A smaller community in the SHARE Network's sense: at most about 150,000 inhabitants.
pub const SMALLER_COMMUNITY_MAX_POPULATION: u32 = 150_000;

/// The largest population accepted: more than any organisation's territory on earth.
pub const MAX_POPULATION: i64 = 2_000_000_000;

/// The fields of an actor's profile, each valid on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorProfileParts {
    pub kind: ActorKind,
    pub name: String,
    pub country: CountryCode,
    pub nuts: Option<NutsRegion>,
    pub lau: Option<LauUnit>,
    pub population: Option<u32>,
    pub pic: Option<Pic>,
    pub vat_number: Option<VatNumber>,
    pub wikidata_id: Option<WikidataId>,
    pub website: Option<Website>,
    pub email: Option<Email>,
}

/// An actor's profile whose fields also agree with each other: codes carry the actor's
/// country prefix, and only municipalities have a LAU code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorProfile(ActorProfileParts);

impl ActorProfile {
    pub fn new(parts: ActorProfileParts) -> Result<Self, ValidationError> {
        let country = parts.country.as_str();
        if let Some(nuts) = &parts.nuts
            && nuts.country_prefix() != country
        {
            return Err(ValidationError::new(
                "nutsCode",
                format!(
                    "`{}` lies in {}, not in the actor's country {country}",
                    nuts.code(),
                    nuts.country_prefix()
                ),
            ));
        }
        if let Some(lau) = &parts.lau {
            if parts.kind != ActorKind::Municipality {
                return Err(ValidationError::new(
                    "lauCode",
                    "only a MUNICIPALITY has a LAU code",
                ));
            }
            if lau.country_prefix() != country {
                return Err(ValidationError::new(
                    "lauCode",
                    format!(
                        "`{}` lies in {}, not in the actor's country {country}",
                        lau.code(),
                        lau.country_prefix()
                    ),
                ));
            }
        }
        Ok(Self(parts))
    }

    pub fn parts(&self) -> &ActorProfileParts {
        &self.0
    }

    pub fn into_parts(self) -> ActorProfileParts {
        self.0
    }

    /// A municipality of at most 150,000 inhabitants; `None` when the municipality's
    /// population is not known, `Some(false)` for any other kind of actor.
    pub fn is_smaller_community(&self) -> Option<bool> {
        is_smaller_community(self.0.kind, self.0.population)
    }
}

/// A stored actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: ActorId,
    pub profile: ActorProfile,
    pub parent_id: Option<ActorId>,
    /// Checked by an administrator.
    pub verified: bool,
    /// Raised by every change (optimistic concurrency).
    pub version: i64,
    /// Set when an administrator archived the actor (the registry never deletes it).
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a list shows of an actor: the fields a page of members asks for (`id`, `kind`,
/// `name`, `country`). Why a type of its own: a page of 50 partnerships reads about 250
/// actors, and reading and checking all 21 columns of each, for the three or four a page
/// shows, was the largest single cost of the page (see `bench/RESULTS.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorBrief {
    pub id: ActorId,
    pub kind: ActorKind,
    pub name: String,
    pub country: CountryCode,
}

impl From<&Actor> for ActorBrief {
    fn from(actor: &Actor) -> Self {
        let parts = actor.profile.parts();
        Self {
            id: actor.id,
            kind: parts.kind,
            name: parts.name.clone(),
            country: parts.country,
        }
    }
}

pub fn parse_actor_name(raw: &str) -> Result<String, ValidationError> {
    crate::text::single_line("name", raw, 1, 300)
}

pub fn parse_population(raw: i64) -> Result<u32, ValidationError> {
    if !(0..=MAX_POPULATION).contains(&raw) {
        return Err(ValidationError::new(
            "population",
            format!("must be between 0 and {MAX_POPULATION}"),
        ));
    }
    u32::try_from(raw).map_err(|_| ValidationError::new("population", "is out of range"))
}

pub fn is_smaller_community(kind: ActorKind, population: Option<u32>) -> Option<bool> {
    match kind {
        ActorKind::Municipality => population.map(|p| p <= SMALLER_COMMUNITY_MAX_POPULATION),
        _ => Some(false),
    }
}

/// What the hierarchy rules need to know of an actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HierarchyNode {
    pub id: ActorId,
    pub kind: ActorKind,
    pub country: CountryCode,
}

/// Checks that `parent` may be the parent of `child`. `ancestors` lists the parent's own
/// ancestors, nearest first (parent's parent, then its parent, ...).
///
/// Rules: a MUNICIPALITY lies in a REGION; a REGION lies in a larger REGION or under a
/// NATIONAL_AUTHORITY; both stay within their country. Other kinds may belong to any actor
/// (a local Caritas to its diocese, a sponsor group to its network). No actor is its own
/// ancestor.
pub fn check_parent(
    child: HierarchyNode,
    parent: HierarchyNode,
    ancestors: &[ActorId],
) -> Result<(), ValidationError> {
    if parent.id == child.id || ancestors.contains(&child.id) {
        return Err(ValidationError::new(
            "parentId",
            "would make the actor its own ancestor (a cycle in the hierarchy)",
        ));
    }
    let allowed = match child.kind {
        ActorKind::Municipality => matches!(parent.kind, ActorKind::Region),
        ActorKind::Region => matches!(
            parent.kind,
            ActorKind::Region | ActorKind::NationalAuthority
        ),
        _ => true,
    };
    if !allowed {
        let expected = match child.kind {
            ActorKind::Municipality => "a REGION",
            _ => "a REGION or a NATIONAL_AUTHORITY",
        };
        return Err(ValidationError::new(
            "parentId",
            format!(
                "a {} lies in {expected}, not in a {}",
                child.kind.code(),
                parent.kind.code()
            ),
        ));
    }
    let territorial = matches!(child.kind, ActorKind::Municipality | ActorKind::Region);
    if territorial && parent.country != child.country {
        return Err(ValidationError::new(
            "parentId",
            format!(
                "a {} in {} cannot lie in an actor of {}",
                child.kind.code(),
                child.country,
                parent.country
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(kind: ActorKind, country: &str) -> ActorProfileParts {
        ActorProfileParts {
            kind,
            name: "Bilbao".into(),
            country: CountryCode::parse(country).expect("country"),
            nuts: None,
            lau: None,
            population: None,
            pic: None,
            vat_number: None,
            wikidata_id: None,
            website: None,
            email: None,
        }
    }

    #[test]
    fn kind_codes_round_trip() {
        for kind in ActorKind::ALL {
            assert_eq!(ActorKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ActorKind::from_code("CITY"), None);
    }

    #[test]
    fn codes_must_carry_the_actors_country() {
        let mut region = parts(ActorKind::Region, "ES");
        region.nuts = Some(NutsRegion::parse("ES21", 2021).expect("nuts"));
        assert!(ActorProfile::new(region.clone()).is_ok());
        region.nuts = Some(NutsRegion::parse("FR10", 2021).expect("nuts"));
        assert_eq!(
            ActorProfile::new(region).expect_err("prefix").field,
            "nutsCode"
        );

        let mut greek = parts(ActorKind::Region, "GR");
        greek.nuts = Some(NutsRegion::parse("EL30", 2021).expect("nuts"));
        assert!(
            ActorProfile::new(greek).is_ok(),
            "GR is stored as EL, as NUTS writes it"
        );

        let mut city = parts(ActorKind::Municipality, "ES");
        city.lau = Some(LauUnit::parse("ES_48020", 2023).expect("lau"));
        assert!(ActorProfile::new(city.clone()).is_ok());
        city.lau = Some(LauUnit::parse("PT_48020", 2023).expect("lau"));
        assert_eq!(
            ActorProfile::new(city).expect_err("prefix").field,
            "lauCode"
        );
    }

    #[test]
    fn only_municipalities_have_lau_codes() {
        let mut ngo = parts(ActorKind::Ngo, "ES");
        ngo.lau = Some(LauUnit::parse("ES_48020", 2023).expect("lau"));
        let err = ActorProfile::new(ngo).expect_err("ngo with LAU");
        assert_eq!(err.field, "lauCode");
        assert_eq!(err.message, "only a MUNICIPALITY has a LAU code");
    }

    #[test]
    fn smaller_community_is_a_municipality_up_to_150000() {
        use ActorKind::*;
        assert_eq!(
            is_smaller_community(Municipality, Some(150_000)),
            Some(true)
        );
        assert_eq!(
            is_smaller_community(Municipality, Some(150_001)),
            Some(false)
        );
        assert_eq!(is_smaller_community(Municipality, None), None);
        assert_eq!(is_smaller_community(Region, Some(1000)), Some(false));
        let mut city = parts(Municipality, "ES");
        city.population = Some(35_000);
        assert_eq!(
            ActorProfile::new(city)
                .expect("valid")
                .is_smaller_community(),
            Some(true)
        );
    }

    #[test]
    fn population_and_name_bounds() {
        assert_eq!(parse_population(0), Ok(0));
        assert_eq!(parse_population(-1).expect_err("neg").field, "population");
        assert!(parse_population(MAX_POPULATION + 1).is_err());
        assert_eq!(parse_actor_name("").expect_err("empty").field, "name");
        assert!(parse_actor_name(&"x".repeat(301)).is_err());
    }

    fn node(kind: ActorKind, country: &str) -> HierarchyNode {
        HierarchyNode {
            id: ActorId::generate(),
            kind,
            country: CountryCode::parse(country).expect("country"),
        }
    }

    #[test]
    fn hierarchy_follows_the_levels_of_government() {
        use ActorKind::*;
        let ok = [
            (Municipality, Region),
            (Region, Region),
            (Region, NationalAuthority),
            (Ngo, Network),
            (CommunityGroup, Ngo),
            (Ngo, Municipality),
        ];
        for (child, parent) in ok {
            assert!(
                check_parent(node(child, "ES"), node(parent, "ES"), &[]).is_ok(),
                "{child:?} in {parent:?}"
            );
        }
        let refused = [
            (Municipality, Municipality),
            (Municipality, NationalAuthority),
            (Region, Municipality),
            (Region, Ngo),
        ];
        for (child, parent) in refused {
            let err = check_parent(node(child, "ES"), node(parent, "ES"), &[]).expect_err("kind");
            assert_eq!(err.field, "parentId");
        }
    }

    #[test]
    fn hierarchy_stays_in_one_country_for_territories() {
        use ActorKind::*;
        let err = check_parent(node(Municipality, "ES"), node(Region, "FR"), &[])
            .expect_err("cross-border");
        assert!(err.message.contains("ES"));
        assert!(check_parent(node(Ngo, "ES"), node(Network, "BE"), &[]).is_ok());
    }

    #[test]
    fn hierarchy_has_no_cycles() {
        use ActorKind::*;
        let region = node(Region, "ES");
        let nuts1 = node(Region, "ES");
        // Making ES2 a child of ES21, when ES21 already lies in ES2.
        let err = check_parent(nuts1, region, &[nuts1.id]).expect_err("cycle");
        assert!(err.message.contains("cycle"));
        assert!(check_parent(region, region, &[]).is_err(), "its own parent");
    }
}
