//! Partnerships: what they are (kind, themes, levels of governance), when they run, and the
//! status lifecycle DRAFT -> ACTIVE -> COMPLETED, or -> WITHDRAWN.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

use crate::ValidationError;
use crate::ids::PartnershipId;

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable name used in storage and in the API.
            pub const fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }
        }
    };
}
pub(crate) use code_enum;

code_enum!(
    /// The shape of a partnership.
    PartnershipKind {
        CityToCityMentoring = "CITY_TO_CITY_MENTORING",
        RegionalSponsorshipProgramme = "REGIONAL_SPONSORSHIP_PROGRAMME",
        MultistakeholderPlatform = "MULTISTAKEHOLDER_PLATFORM",
        NetworkInitiative = "NETWORK_INITIATIVE",
        ProjectConsortium = "PROJECT_CONSORTIUM",
    }
);

code_enum!(
    /// The integration themes a partnership works on.
    Theme {
        EducationAndTraining = "EDUCATION_AND_TRAINING",
        AccessToBasicServices = "ACCESS_TO_BASIC_SERVICES",
        Housing = "HOUSING",
        Employment = "EMPLOYMENT",
        LanguageLearning = "LANGUAGE_LEARNING",
        Health = "HEALTH",
        ActiveParticipationAndSocialInclusion = "ACTIVE_PARTICIPATION_AND_SOCIAL_INCLUSION",
        CommunitySponsorship = "COMMUNITY_SPONSORSHIP",
        ResettlementAndComplementaryPathways = "RESETTLEMENT_AND_COMPLEMENTARY_PATHWAYS",
        Reception = "RECEPTION",
    }
);

code_enum!(
    /// The levels of government a partnership spans.
    GovernanceLevel {
        Local = "LOCAL",
        Regional = "REGIONAL",
        National = "NATIONAL",
        Eu = "EU",
    }
);

code_enum!(
    /// Where a partnership is in its life.
    PartnershipStatus {
        Draft = "DRAFT",
        Active = "ACTIVE",
        Completed = "COMPLETED",
        Withdrawn = "WITHDRAWN",
    }
);

impl PartnershipStatus {
    /// DRAFT -> ACTIVE -> COMPLETED; DRAFT or ACTIVE -> WITHDRAWN. Nothing else, and nothing
    /// out of COMPLETED or WITHDRAWN.
    pub fn can_become(self, next: Self) -> bool {
        use PartnershipStatus::*;
        matches!(
            (self, next),
            (Draft, Active) | (Active, Completed) | (Draft | Active, Withdrawn)
        )
    }

    pub fn transition(self, next: Self) -> Result<Self, ValidationError> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(ValidationError::new(
                "status",
                format!(
                    "a {} partnership cannot become {} (allowed: DRAFT to ACTIVE, ACTIVE to COMPLETED, DRAFT or ACTIVE to WITHDRAWN)",
                    self.code(),
                    next.code()
                ),
            ))
        }
    }

    /// COMPLETED and WITHDRAWN partnerships are history: their members no longer change.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Completed | Self::Withdrawn)
    }
}

/// The fields of a partnership, each valid on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnershipDetailsParts {
    pub title: String,
    pub description: String,
    pub kind: PartnershipKind,
    pub themes: BTreeSet<Theme>,
    pub governance_levels: BTreeSet<GovernanceLevel>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

/// A partnership's details that agree with each other: an end not before the start. Themes
/// and levels may be empty while they are not known (the public record of a partnership often
/// names neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnershipDetails(PartnershipDetailsParts);

impl PartnershipDetails {
    pub fn new(parts: PartnershipDetailsParts) -> Result<Self, ValidationError> {
        crate::dates::check_date("startDate", parts.start_date)?;
        if let Some(end) = parts.end_date {
            crate::dates::check_date("endDate", end)?;
        }
        if let Some(end) = parts.end_date
            && end < parts.start_date
        {
            return Err(ValidationError::new(
                "endDate",
                format!(
                    "{end} is before the start date {}: a partnership cannot end before it starts",
                    parts.start_date
                ),
            ));
        }
        Ok(Self(parts))
    }

    pub fn parts(&self) -> &PartnershipDetailsParts {
        &self.0
    }

    pub fn into_parts(self) -> PartnershipDetailsParts {
        self.0
    }
}

/// A stored partnership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partnership {
    pub id: PartnershipId,
    pub details: PartnershipDetails,
    pub status: PartnershipStatus,
    /// Raised by every change (optimistic concurrency).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn parse_title(raw: &str) -> Result<String, ValidationError> {
    crate::text::single_line("title", raw, 1, 300)
}

pub fn parse_description(raw: &str) -> Result<String, ValidationError> {
    crate::text::bounded_text("description", raw, 0, 20_000)
}

/// Collects a list into a set, refusing duplicates so that a client's mistake is not hidden.
pub fn unique_set<T: Ord + Copy>(
    field: &str,
    values: &[T],
    code: impl Fn(T) -> &'static str,
) -> Result<BTreeSet<T>, ValidationError> {
    let mut set = BTreeSet::new();
    for value in values {
        if !set.insert(*value) {
            return Err(ValidationError::new(
                field,
                format!("lists {} twice", code(*value)),
            ));
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PartnershipStatus::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn details() -> PartnershipDetailsParts {
        PartnershipDetailsParts {
            title: "IncluCities".into(),
            description: String::new(),
            kind: PartnershipKind::CityToCityMentoring,
            themes: [Theme::Housing].into(),
            governance_levels: [GovernanceLevel::Local].into(),
            start_date: date("2020-01-01"),
            end_date: Some(date("2022-12-31")),
        }
    }

    #[test]
    fn status_transitions_are_exactly_the_allowed_ones() {
        let allowed = [
            (Draft, Active),
            (Active, Completed),
            (Draft, Withdrawn),
            (Active, Withdrawn),
        ];
        for from in PartnershipStatus::ALL {
            for to in PartnershipStatus::ALL {
                let expected = allowed.contains(&(*from, *to));
                assert_eq!(from.can_become(*to), expected, "{from:?} -> {to:?}");
                assert_eq!(from.transition(*to).is_ok(), expected);
            }
        }
        let err = Completed.transition(Active).expect_err("refused");
        assert_eq!(err.field, "status");
        assert!(
            err.message
                .contains("COMPLETED partnership cannot become ACTIVE")
        );
    }

    #[test]
    fn codes_round_trip() {
        for kind in PartnershipKind::ALL {
            assert_eq!(PartnershipKind::from_code(kind.code()), Some(*kind));
        }
        for theme in Theme::ALL {
            assert_eq!(Theme::from_code(theme.code()), Some(*theme));
        }
        assert_eq!(Theme::ALL.len(), 10);
        assert_eq!(GovernanceLevel::from_code("EU"), Some(GovernanceLevel::Eu));
        assert_eq!(PartnershipStatus::from_code("PAUSED"), None);
    }

    #[test]
    fn end_is_not_before_start() {
        assert!(PartnershipDetails::new(details()).is_ok());
        let mut same_day = details();
        same_day.end_date = Some(same_day.start_date);
        assert!(PartnershipDetails::new(same_day).is_ok());
        let mut open = details();
        open.end_date = None;
        assert!(PartnershipDetails::new(open).is_ok());
        let mut backwards = details();
        backwards.end_date = Some(date("2019-12-31"));
        let err = PartnershipDetails::new(backwards).expect_err("backwards");
        assert_eq!(err.field, "endDate");
    }

    #[test]
    fn themes_and_levels_are_sets_that_may_be_empty() {
        let mut unknown = details();
        unknown.themes.clear();
        unknown.governance_levels.clear();
        assert!(PartnershipDetails::new(unknown).is_ok());
        let err = unique_set("themes", &[Theme::Housing, Theme::Housing], Theme::code)
            .expect_err("duplicate");
        assert_eq!(err.message, "lists HOUSING twice");
    }

    #[test]
    fn titles_and_descriptions_are_bounded() {
        assert_eq!(parse_title("  SOMOS ").as_deref(), Ok("SOMOS"));
        assert_eq!(parse_title("").expect_err("empty").field, "title");
        assert_eq!(parse_description("").as_deref(), Ok(""));
        assert!(parse_description(&"x".repeat(20_001)).is_err());
    }
}
