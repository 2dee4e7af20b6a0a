//! GraphQL enums: mirrors of the domain's enums (`remote`), so the domain stays free of
//! GraphQL and a new variant fails to compile here until it is exposed.

use async_graphql::Enum;

/// What kind of organisation an actor is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::actor::ActorKind")]
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

/// The shape of a partnership.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::partnership::PartnershipKind")]
pub enum PartnershipKind {
    CityToCityMentoring,
    RegionalSponsorshipProgramme,
    MultistakeholderPlatform,
    NetworkInitiative,
    ProjectConsortium,
}

/// An integration theme.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::partnership::Theme")]
pub enum Theme {
    EducationAndTraining,
    AccessToBasicServices,
    Housing,
    Employment,
    LanguageLearning,
    Health,
    ActiveParticipationAndSocialInclusion,
    CommunitySponsorship,
    ResettlementAndComplementaryPathways,
    Reception,
}

/// A level of government.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::partnership::GovernanceLevel")]
pub enum GovernanceLevel {
    Local,
    Regional,
    National,
    Eu,
}

/// Where a partnership is in its life: DRAFT -> ACTIVE -> COMPLETED, or -> WITHDRAWN.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::partnership::PartnershipStatus")]
pub enum PartnershipStatus {
    Draft,
    Active,
    Completed,
    Withdrawn,
}

/// What an actor does in a partnership (IATI's organisation roles and the partnership roles).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::membership::Role")]
pub enum Role {
    Lead,
    Partner,
    AssociatedPartner,
    Mentor,
    Mentee,
    SponsorGroup,
    Funding,
    Accountable,
    Extending,
    Implementing,
}

/// Where an allocation is in its life: REQUESTED -> AWARDED -> CLOSED; REQUESTED ->
/// REJECTED; REQUESTED or AWARDED -> CANCELLED.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::funding::AllocationStatus")]
pub enum AllocationStatus {
    Requested,
    Awarded,
    Closed,
    Rejected,
    Cancelled,
}

/// IATI's budget types.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::funding::BudgetKind")]
pub enum BudgetKind {
    Original,
    Revised,
}

/// What a payment is; a RECOVERY is subtracted from the paid total.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::funding::PaymentKind")]
pub enum PaymentKind {
    PreFinancing,
    Interim,
    Balance,
    Recovery,
}

/// The rules the audit checks.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::funding::FindingRule")]
pub enum FindingRule {
    RateOverCeiling,
    PaymentsOverAward,
    DecidedAfterPartnershipEnded,
    ActiveWithoutLead,
    EnvelopeOverdrawn,
}

/// What `fundingSummary` groups by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "persistence::repo::Dimension")]
pub enum SummaryDimension {
    Stream,
    Programme,
    Country,
    Region,
    /// The partnership's set of themes as one key (`HOUSING,EMPLOYMENT`), so each allocation
    /// is in exactly one group.
    Theme,
    /// The year of the decision.
    Year,
    /// The kind of the partnership's LEAD actor.
    ActorKind,
    Status,
}

/// Up or down.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
#[graphql(remote = "persistence::SortDirection")]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// How a list of partnerships is ordered; ties are broken by id.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
#[graphql(remote = "persistence::repo::PartnershipOrder")]
pub enum PartnershipOrderField {
    Title,
    StartDate,
    #[default]
    Created,
}

/// A member's roles, `[Role!]!` to the schema, resolved in one step: each value is a shared
/// name, not a task and a new allocation. Why: a page of 50 partnerships shows about 250 members,
/// and async-graphql resolves a list of enums item by item (a future each, joined) and
/// allocates each item's name; that cost about 2% of the nested page.
pub struct RoleList<'a>(pub &'a domain::membership::RoleSet);

/// The GraphQL names of the roles, in the order of `Role`'s items, made once.
fn role_names() -> &'static [(Role, async_graphql::Name)] {
    use async_graphql::resolver_utils::EnumType;
    static NAMES: std::sync::OnceLock<Vec<(Role, async_graphql::Name)>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        Role::items()
            .iter()
            .map(|item| (item.value, async_graphql::Name::new(item.name)))
            .collect()
    })
}

impl async_graphql::OutputType for RoleList<'_> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        <Vec<Role> as async_graphql::OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<Role> as async_graphql::OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        <Vec<Role> as async_graphql::OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _ctx: &async_graphql::ContextSelectionSet<'_>,
        _field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
    ) -> async_graphql::ServerResult<async_graphql::Value> {
        let names = role_names();
        let values = self
            .0
            .iter()
            .map(|role| {
                let role = Role::from(role);
                names
                    .iter()
                    .find(|(value, _)| *value == role)
                    .map(|(_, name)| async_graphql::Value::Enum(name.clone()))
                    // Every Role is one of its own items: the derive lists them all.
                    .ok_or_else(|| async_graphql::ServerError::new("unknown role", None))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(async_graphql::Value::List(values))
    }
}
